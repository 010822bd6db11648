package pgtest

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// BouncerOptions tunes a throwaway PgBouncer.
type BouncerOptions struct {
	// PoolSize is default_pool_size: server connections per database and
	// user. Default 20.
	PoolSize int
	// IgnoreStartupParameters lists startup parameters PgBouncer accepts
	// and drops instead of refusing the client (ignore_startup_parameters).
	IgnoreStartupParameters []string
	// ConnectQuery runs on every new server connection before clients use
	// it (the database entry's connect_query), e.g. a SET.
	ConnectQuery string
}

// Bouncer is a throwaway PgBouncer in transaction pooling mode on a free
// 127.0.0.1 port, in front of one PostgreSQL server: any database name a
// client asks for is forwarded to the same name upstream.
type Bouncer struct {
	root    string
	logPath string
	port    int
	proc    *serverProcess
}

// BouncerBinary finds pgbouncer (Debian installs it in /usr/sbin).
func BouncerBinary() (string, error) {
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("pgtest: pgbouncer not found; install it (make deps / hack/ci-deps.sh installs the apt package)")
}

// StartBouncer starts PgBouncer in front of the server of upstreamDSN (its
// host, port, user and password). The caller owns it and must call Stop.
func StartBouncer(upstreamDSN string, opts BouncerOptions) (*Bouncer, error) {
	bin, err := BouncerBinary()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(upstreamDSN)
	if err != nil {
		return nil, fmt.Errorf("pgtest: bouncer upstream is not a URL")
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 { // pgbouncer refuses to run as root
		if cred, err = postgresCredential(); err != nil {
			return nil, err
		}
	}
	b := &Bouncer{}
	// The reaper removes this directory once its owner is gone.
	if b.root, err = os.MkdirTemp("", dirPrefix+"bouncer-*"); err != nil {
		return nil, fmt.Errorf("pgtest: temp dir: %w", err)
	}
	b.logPath = filepath.Join(b.root, "pgbouncer.log")
	if err := os.WriteFile(filepath.Join(b.root, ownerPidFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		b.Stop()
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	// Same race as the cluster's port: retry with another free port.
	for attempt := 0; ; attempt++ {
		if b.port, err = freePort(); err == nil {
			if err = b.start(bin, u, opts, cred); err == nil {
				return b, nil
			}
		}
		if attempt == 2 {
			b.Stop()
			return nil, err
		}
	}
}

func (b *Bouncer) start(bin string, upstream *url.URL, opts BouncerOptions, cred *syscall.Credential) error {
	ini := filepath.Join(b.root, "pgbouncer.ini")
	if err := os.WriteFile(ini, []byte(b.config(upstream, opts)), 0o644); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(b.root, "userlist.txt"), nil, 0o644); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if cred != nil {
		if err := os.Chown(b.root, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("pgtest: chown %s: %w", b.root, err)
		}
	}
	cmd := exec.Command(bin, ini)
	cmd.Dir = b.root
	p, err := startServer(cmd, cred, syscall.SIGKILL)
	if err != nil {
		return err
	}
	if err := b.waitReady(p); err != nil {
		_ = stopProcess(p, syscall.SIGKILL)
		return err
	}
	b.proc = p
	return nil
}

// config writes one wildcard database entry that logs in upstream as the
// DSN's user, so clients need no password of their own (auth_type any).
func (b *Bouncer) config(upstream *url.URL, opts BouncerOptions) string {
	host, port := upstream.Hostname(), upstream.Port()
	if port == "" {
		port = "5432"
	}
	conn := fmt.Sprintf("host=%s port=%s user=%s", host, port, upstream.User.Username())
	if pw, ok := upstream.User.Password(); ok {
		conn += " password=" + pw
	}
	if opts.ConnectQuery != "" {
		conn += " connect_query='" + strings.ReplaceAll(opts.ConnectQuery, "'", "''") + "'"
	}
	pool := opts.PoolSize
	if pool <= 0 {
		pool = 20
	}
	return fmt.Sprintf(`[databases]
* = %s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = any
auth_file = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 1000
ignore_startup_parameters = %s
server_tls_sslmode = disable
logfile = %s
pidfile =
`, conn, b.port, filepath.Join(b.root, "userlist.txt"), pool, strings.Join(opts.IgnoreStartupParameters, ","), b.logPath)
}

func (b *Bouncer) waitReady(p *serverProcess) error {
	return waitAccepting(p, "pgbouncer", b.DSN("postgres"), b.logPath)
}

// DSN connects through the bouncer to database db.
func (b *Bouncer) DSN(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=5", superuser, b.port, db)
}

// Via rewrites a DSN of the upstream server to go through the bouncer
// (same database and parameters).
func (b *Bouncer) Via(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	u.Host = "127.0.0.1:" + strconv.Itoa(b.port)
	u.User = url.User(superuser) // auth_type any: the upstream login is in the bouncer's config
	return u.String()
}

// Port is the bouncer's TCP port on 127.0.0.1.
func (b *Bouncer) Port() int { return b.port }

// Stop ends PgBouncer (immediate shutdown) and removes its files.
func (b *Bouncer) Stop() error {
	var err error
	if b.proc != nil {
		err = stopProcess(b.proc, syscall.SIGTERM)
		b.proc = nil
	}
	if rmErr := os.RemoveAll(b.root); rmErr != nil {
		err = errors.Join(err, rmErr)
	}
	return err
}

// NewBouncer starts a bouncer for one test and stops it in t.Cleanup.
func NewBouncer(t testing.TB, upstreamDSN string, opts BouncerOptions) *Bouncer {
	t.Helper()
	b, err := StartBouncer(upstreamDSN, opts)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Logf("pgtest: stop bouncer: %v", err)
		}
	})
	return b
}
