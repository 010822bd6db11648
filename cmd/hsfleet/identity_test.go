package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hsfleet/hsfleet/agent/crypto"
)

func runIdentityCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = identityMain(args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestIdentityNewThenShowWithPassphraseFile(t *testing.T) {
	dir := t.TempDir()
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runIdentityCLI(t, "new", "--name", "alice", "--out", dir, "--passphrase-file", passFile, "--json")
	if err != nil {
		t.Fatalf("new: %v\n%s", err, errOut)
	}
	if strings.Contains(errOut, "warning") {
		t.Errorf("warned although a passphrase file was given: %s", errOut)
	}
	var created identityInfo
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("new --json output: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "id_agent_alice.json")
	if created.File != path || created.Name != "alice" || created.AgentID == "" {
		t.Errorf("new printed %+v", created)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", st.Mode().Perm())
	}

	// The file opens with the trimmed passphrase and holds the printed keys.
	id, err := crypto.LoadIdentityFile(path, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if id.ID != created.AgentID {
		t.Errorf("file ID %s, printed %s", id.ID, created.AgentID)
	}

	// Flags after the positional FILE work too.
	out, _, err = runIdentityCLI(t, "show", path, "--passphrase-file", passFile, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var shown identityInfo
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(shown, created) {
		t.Errorf("show = %+v\nnew  = %+v", shown, created)
	}
}

func TestIdentityOutputNeverContainsPrivateKeys(t *testing.T) {
	dir := t.TempDir()
	for name, format := range map[string]string{"ptext": "--json=false", "pjson": "--json"} {
		out, _, err := runIdentityCLI(t, "new", "--name", name, "--out", dir, format)
		if err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "id_agent_*.json"))
		for _, f := range files {
			id, err := crypto.LoadIdentityFile(f, crypto.DefaultPassphrase(crypto.NameFromFileName(f)))
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range [][]byte{id.SignPriv.Seed(), id.KxPriv.Bytes()} {
				for _, enc := range []string{b64(secret), string(secret)} {
					if strings.Contains(out, enc) {
						t.Fatalf("output %q contains a private key", out)
					}
				}
			}
		}
	}
}

func TestIdentityDefaultPassphraseWarnsAndMatchesReference(t *testing.T) {
	dir := t.TempDir()
	out, errOut, err := runIdentityCLI(t, "new", "--name", "bob", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "my_id_pw_bob") || !strings.Contains(errOut, "NOT a secret") {
		t.Errorf("stderr %q lacks the not-a-secret warning", errOut)
	}
	if !strings.Contains(out, "agent ID:") || !strings.Contains(out, "sign public key:") {
		t.Errorf("text output %q", out)
	}
	path := filepath.Join(dir, "id_agent_bob.json")
	if _, err := crypto.LoadIdentityFile(path, []byte("my_id_pw_bob")); err != nil {
		t.Errorf("file does not open with the reference passphrase: %v", err)
	}
	// show derives the name, hence the passphrase, from the file name.
	out, errOut, err = runIdentityCLI(t, "show", path)
	if err != nil || !strings.Contains(out, "bob") || !strings.Contains(errOut, "NOT a secret") {
		t.Errorf("show: %v\n%s\n%s", err, out, errOut)
	}
}

func TestIdentityNewRefusesToOverwriteWithoutForce(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runIdentityCLI(t, "new", "--name", "c", "--out", dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "id_agent_c.json")
	before, _ := os.ReadFile(path)
	_, _, err := runIdentityCLI(t, "new", "--name", "c", "--out", dir)
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second new: err = %v, want a refusal mentioning --force", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("refused new still changed the file")
	}
	if _, _, err := runIdentityCLI(t, "new", "--name", "c", "--out", dir, "--force"); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); bytes.Equal(before, after) {
		t.Error("--force did not replace the file")
	}
}

func TestIdentityErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runIdentityCLI(t, "new", "--name", "d", "--out", dir); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "id_agent_d.json")
	renamed := filepath.Join(dir, "identity.json")
	data, _ := os.ReadFile(good)
	if err := os.WriteFile(renamed, data, 0o600); err != nil {
		t.Fatal(err)
	}
	wrongPass := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrongPass, []byte("nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want error  // checked with errors.Is when set
		text string // else the error must mention this
	}{
		{"no subcommand", nil, errUsage, ""},
		{"unknown subcommand", []string{"rotate"}, errUsage, ""},
		{"new without name", []string{"new", "--out", dir}, errUsage, ""},
		{"new without out", []string{"new", "--name", "x"}, errUsage, ""},
		{"new with a path as name", []string{"new", "--name", "../x", "--out", dir}, crypto.ErrIdentityName, ""},
		{"new into a missing directory", []string{"new", "--name", "x", "--out", filepath.Join(dir, "missing")}, os.ErrNotExist, ""},
		{"show without file", []string{"show"}, errUsage, ""},
		{"show with two files", []string{"show", good, renamed}, errUsage, ""},
		{"show with wrong passphrase", []string{"show", good, "--passphrase-file", wrongPass}, crypto.ErrIdentityDecrypt, ""},
		{"show with wrong name", []string{"show", "--name", "e", good}, crypto.ErrIdentityDecrypt, ""},
		{"show of a file without a derivable name", []string{"show", renamed}, nil, "--name"},
		{"show of a missing file", []string{"show", filepath.Join(dir, "id_agent_zz.json")}, os.ErrNotExist, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runIdentityCLI(t, tc.args...)
			switch {
			case err == nil:
				t.Fatal("succeeded")
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("err = %v, want %v", err, tc.want)
			case tc.want == nil && !strings.Contains(err.Error(), tc.text):
				t.Errorf("err = %v, want it to mention %q", err, tc.text)
			}
		})
	}
	// The same file with an explicit --name opens.
	if out, _, err := runIdentityCLI(t, "show", "--name", "d", renamed); err != nil || !strings.Contains(out, "identity.json") {
		t.Errorf("show --name: %v\n%s", err, out)
	}
}

func TestIdentityCommandIsRegistered(t *testing.T) {
	c, ok := commands["identity"]
	if !ok || c.run == nil || c.summary == "" {
		t.Fatalf("identity command not registered: %+v", c)
	}
}

func TestSplitPositionalKeepsFlagValues(t *testing.T) {
	set := flagSetForSplit()
	flags, pos := splitPositional(set, []string{"--name", "x", "FILE", "--json", "-passphrase-file=p", "--", "-odd"})
	if want := []string{"--name", "x", "--json", "-passphrase-file=p"}; !reflect.DeepEqual(flags, want) {
		t.Errorf("flags = %q, want %q", flags, want)
	}
	if want := []string{"FILE", "-odd"}; !reflect.DeepEqual(pos, want) {
		t.Errorf("positional = %q, want %q", pos, want)
	}
}
