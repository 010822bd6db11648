package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
)

func init() {
	register(command{
		name:    "identity",
		summary: "create (new) or inspect (show) a sealed agent identity file",
		run:     runIdentity,
	})
}

func runIdentity(_ context.Context, args []string) error {
	return identityMain(args, os.Stdout, os.Stderr)
}

const identityUsage = `usage:
  hsfleet identity new --name NAME --out DIR [--passphrase-file F] [--force] [--json]
  hsfleet identity show FILE [--name NAME] [--passphrase-file F] [--json]

Without --passphrase-file the HSAgent_1 reference passphrase "my_id_pw_<name>"
is used, so Python agents can read the file; it is not a secret.
`

// identityMain is runIdentity with its output streams injectable for tests.
func identityMain(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, identityUsage)
		return errUsage
	}
	switch args[0] {
	case "new":
		return identityNew(args[1:], stdout, stderr)
	case "show":
		return identityShow(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stderr, identityUsage)
		return flag.ErrHelp
	default:
		fmt.Fprintf(stderr, "unknown identity subcommand %q\n\n%s", args[0], identityUsage)
		return errUsage
	}
}

func identityNew(args []string, stdout, stderr io.Writer) error {
	set := flag.NewFlagSet("identity new", flag.ContinueOnError)
	name := set.String("name", "", "agent name; the file is DIR/id_agent_NAME.json (required)")
	out := set.String("out", "", "directory to write the identity file to (required)")
	passFile := set.String("passphrase-file", "", "file holding the passphrase (default: the reference rule my_id_pw_NAME, not a secret)")
	force := set.Bool("force", false, "replace an existing identity file (its keys are lost)")
	asJSON := set.Bool("json", false, "print JSON")
	if err := parseFlags(set, args); err != nil {
		return err
	}
	if *name == "" || *out == "" {
		fmt.Fprintln(stderr, "identity new: --name and --out are required")
		set.Usage()
		return errUsage
	}
	pass, err := identityPassphrase(*passFile, *name, stderr)
	if err != nil {
		return err
	}
	id, err := crypto.NewIdentity(*name)
	if err != nil {
		return err
	}
	path := filepath.Join(*out, crypto.IdentityFileName(*name))
	if *force {
		err = crypto.WriteIdentityFile(path, id, pass)
	} else {
		err = crypto.CreateIdentityFile(path, id, pass)
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; use --force to replace it (the old keys are lost)", path)
	}
	if err != nil {
		return err
	}
	return printIdentity(stdout, id, path, *asJSON)
}

func identityShow(args []string, stdout, stderr io.Writer) error {
	set := flag.NewFlagSet("identity show", flag.ContinueOnError)
	name := set.String("name", "", "agent name for the reference passphrase (default: from the file name id_agent_NAME.json)")
	passFile := set.String("passphrase-file", "", "file holding the passphrase (default: the reference rule my_id_pw_NAME)")
	asJSON := set.Bool("json", false, "print JSON")
	flagArgs, positional := splitPositional(set, args)
	if err := parseFlags(set, flagArgs); err != nil {
		return err
	}
	if len(positional) != 1 {
		fmt.Fprintln(stderr, "identity show: exactly one FILE is required")
		set.Usage()
		return errUsage
	}
	path := positional[0]
	if *name == "" {
		*name = crypto.NameFromFileName(path)
	}
	if *passFile == "" && *name == "" {
		return fmt.Errorf("cannot derive the reference passphrase: %s is not named id_agent_NAME.json; pass --name or --passphrase-file", path)
	}
	pass, err := identityPassphrase(*passFile, *name, stderr)
	if err != nil {
		return err
	}
	id, err := crypto.LoadIdentityFile(path, pass)
	if err != nil {
		return err
	}
	if id.Name == "" {
		id.Name = *name
	}
	return printIdentity(stdout, id, path, *asJSON)
}

// identityPassphrase reads --passphrase-file, or falls back to the
// reference rule with a warning: that passphrase protects nothing.
func identityPassphrase(file, name string, stderr io.Writer) ([]byte, error) {
	if file != "" {
		return crypto.ReadPassphraseFile(file)
	}
	fmt.Fprintf(stderr, "warning: no --passphrase-file: using the HSAgent_1 reference passphrase \"my_id_pw_%s\", which is derived from the name and is NOT a secret\n", name)
	return crypto.DefaultPassphrase(name), nil
}

// identityInfo is what identity commands print: public material only.
type identityInfo struct {
	AgentID       string `json:"agentID"`
	Name          string `json:"name,omitempty"`
	SignPublicKey string `json:"signPublicKey"`
	KxPublicKey   string `json:"kxPublicKey"`
	CreatedAt     string `json:"createdAt,omitempty"`
	File          string `json:"file"`
}

func printIdentity(w io.Writer, id *crypto.Identity, path string, asJSON bool) error {
	info := identityInfo{
		AgentID:       id.ID,
		Name:          id.Name,
		SignPublicKey: base64.StdEncoding.EncodeToString(id.SignPub()),
		KxPublicKey:   base64.StdEncoding.EncodeToString(id.KxPub()),
		File:          path,
	}
	if !id.CreatedAt.IsZero() {
		info.CreatedAt = id.CreatedAt.UTC().Format(time.RFC3339)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	_, err := fmt.Fprintf(w, "agent ID:        %s\nname:            %s\nsign public key: %s (Ed25519)\nkx public key:   %s (X25519)\ncreated at:      %s\nfile:            %s\n",
		info.AgentID, info.Name, info.SignPublicKey, info.KxPublicKey, info.CreatedAt, info.File)
	return err
}

// splitPositional separates positional arguments from flags so they may come
// in any order ("show FILE --json" as well as "show --json FILE"); the flag
// package alone stops at the first positional argument.
func splitPositional(set *flag.FlagSet, args []string) (flags, positional []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(positional, args[i+1:]...)
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := set.Lookup(name); f != nil && !isBoolFlag(f) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return flags, positional
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
