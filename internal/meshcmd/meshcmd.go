// Package meshcmd is the `hsfleet mesh` command, shared with the kubectl
// plugin (`kubectl hsfleet mesh`): it reads the pair matrix from the
// database or from HSAgent status and prints it for a terminal.
package meshcmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"golang.org/x/term"

	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/internal/mesh"
)

// DefaultStaleAfter: agents cycle every pair back to back, so two minutes
// without a cycle means the pair is stuck, not slow.
const DefaultStaleAfter = 2 * time.Minute

// Config is the command's flags.
type Config struct {
	DB                             string
	Kubeconfig, Context, Namespace string
	AllNamespaces                  bool
	Operator, TokenFile            string
	InsecureTLS                    bool
	StaleAfter                     time.Duration
	Worst                          int
	Color                          string
	JSON                           bool

	Now func() time.Time // tests pin the clock
}

// Register adds the flags to fs.
func (c *Config) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.DB, "db", "", "read the database at this DSN (postgres://… or sqlite:PATH) instead of the cluster")
	fs.StringVar(&c.Operator, "operator", "", "read the operator's mesh endpoint, e.g. https://127.0.0.1:8443/mesh/ through kubectl port-forward (its --handshake-window is the stale window)")
	fs.StringVar(&c.TokenFile, "token-file", "", "bearer token for --operator when its metrics are secure")
	fs.BoolVar(&c.InsecureTLS, "insecure-skip-tls-verify", false, "do not verify --operator's certificate (self-signed by default)")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)")
	fs.StringVar(&c.Context, "context", "", "kubeconfig context")
	fs.StringVar(&c.Namespace, "namespace", "", "namespace of the HSAgents (default: the context's)")
	fs.StringVar(&c.Namespace, "n", "", "shorthand for --namespace")
	fs.BoolVar(&c.AllNamespaces, "all-namespaces", false, "HSAgents of every namespace")
	fs.DurationVar(&c.StaleAfter, "stale-after", DefaultStaleAfter, "a pair with no cycle for this long is stale")
	fs.IntVar(&c.Worst, "worst", 10, "how many of the worst pairs to list (0: none)")
	fs.StringVar(&c.Color, "color", "auto", "auto (when stdout is a terminal and NO_COLOR is unset), always or never")
	fs.BoolVar(&c.JSON, "json", false, "print the view as JSON (what the web page polls)")
}

// Run reads the mesh once and prints it to out.
func Run(ctx context.Context, c Config, out io.Writer) error {
	if c.StaleAfter <= 0 {
		return fmt.Errorf("--stale-after %s: want > 0", c.StaleAfter)
	}
	if c.Color != "auto" && c.Color != "always" && c.Color != "never" {
		return fmt.Errorf("--color %q: want auto, always or never", c.Color)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := read(ctx, c)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	color, width := terminal(out)
	switch c.Color {
	case "always":
		color = true
	case "never":
		color = false
	}
	worst := c.Worst
	if worst == 0 {
		worst = -1
	}
	return mesh.RenderText(out, v, mesh.TextOptions{Color: color, Width: width, Worst: worst})
}

// read builds the view from the database, the operator or the cluster.
func read(ctx context.Context, c Config) (*mesh.View, error) {
	var d mesh.Data
	var err error
	switch {
	case c.DB != "" && c.Operator != "":
		return nil, fmt.Errorf("--db and --operator: choose one")
	case c.Operator != "":
		return readOperator(ctx, c)
	case c.DB != "":
		d, err = readDB(ctx, c.DB)
	default:
		d, err = readCluster(ctx, c)
	}
	if err != nil {
		return nil, err
	}
	return mesh.Build(c.Now(), c.StaleAfter, d), nil
}

func readDB(ctx context.Context, dsn string) (mesh.Data, error) {
	st, err := store.OpenWithOptions(ctx, dsn, store.Options{MaxOpenConns: 1})
	if err != nil {
		return mesh.Data{}, fmt.Errorf("open the database: %w", err)
	}
	defer st.Close()
	return mesh.ReadStores(ctx, store.MaxMeshRows, st)
}

// terminal reports colour (a TTY, NO_COLOR unset, TERM not dumb) and width.
func terminal(out io.Writer) (color bool, width int) {
	width = 100
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		width = n
	}
	f, ok := out.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, width
	}
	if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
		width = w
	}
	_, noColor := os.LookupEnv("NO_COLOR")
	return !noColor && os.Getenv("TERM") != "dumb", width
}

// ErrNoSource: neither a database nor a cluster could be read.
var ErrNoSource = errors.New("no database (--db) and no cluster configuration")
