// Command imagetar builds a single-binary container image as a docker-save
// tarball without Docker, so machines with no container engine can still
// import the image into containerd (`ctr images import`) or kind.
//
//	go run ./hack/imagetar -binary bin/hsfleet -tag hsfleet:dev -out dist/hsfleet-image.tar
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "imagetar:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("imagetar", flag.ContinueOnError)
	binary := fs.String("binary", "bin/hsfleet", "static binary to put into the image")
	inImage := fs.String("path", "/hsfleet", "absolute path of the binary in the image; also the entrypoint")
	tag := fs.String("tag", "hsfleet:dev", "image reference written into the tarball's manifest")
	out := fs.String("out", "dist/hsfleet-image.tar", "output tarball (docker-save format)")
	user := fs.String("user", "65532:65532", "uid:gid the image runs as")
	arch := fs.String("arch", runtime.GOARCH, "image architecture (GOARCH)")
	var labels labelFlag
	fs.Var(&labels, "label", "image label key=value (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ref, err := name.NewTag(*tag)
	if err != nil {
		return fmt.Errorf("parse tag %q: %w", *tag, err)
	}
	img, err := buildImage(spec{BinaryPath: *binary, InImage: *inImage, User: *user, Arch: *arch, Labels: labels.m})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("create output dir: %w", err)
	}
	// Write next to the target and rename: an importer never sees half a file.
	tmp := *out + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, *out); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("image digest: %w", err)
	}
	fmt.Printf("%s %s %s\n", *out, ref.Name(), digest)
	return nil
}

// labelFlag collects repeated -label key=value flags.
type labelFlag struct{ m map[string]string }

func (l *labelFlag) String() string { return fmt.Sprint(l.m) }

func (l *labelFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("label %q is not key=value", v)
	}
	if l.m == nil {
		l.m = map[string]string{}
	}
	l.m[k] = val
	return nil
}
