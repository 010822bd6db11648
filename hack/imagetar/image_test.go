package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func writeFakeBinary(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// readLayerFiles unpacks the image's only layer into name -> header+content.
func readLayerFiles(t *testing.T, tarPath, tag string) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(tarPath, &ref)
	if err != nil {
		t.Fatalf("read back tarball: %v", err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v; want exactly 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	hdrs, data := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		hdrs[h.Name], data[h.Name] = h, b
	}
	return hdrs, data
}

func TestImageTarballRunsBinaryAsNonrootWithEntrypoint(t *testing.T) {
	out := filepath.Join(t.TempDir(), "img.tar")
	bin := writeFakeBinary(t, "#!fake hsfleet binary")
	if err := run([]string{"-binary", bin, "-tag", "example.test/hsfleet:v1", "-out", out, "-label", "org.opencontainers.image.version=v1"}); err != nil {
		t.Fatalf("run: %v", err)
	}
	ref, _ := name.NewTag("example.test/hsfleet:v1")
	img, err := tarball.ImageFromPath(out, &ref)
	if err != nil {
		t.Fatalf("tarball is not loadable under its tag: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cf.Config.Entrypoint; len(got) != 1 || got[0] != "/hsfleet" {
		t.Errorf("entrypoint = %q, want [/hsfleet]", got)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user = %q, want 65532:65532", cf.Config.User)
	}
	if cf.OS != "linux" || cf.Architecture == "" {
		t.Errorf("platform = %s/%s", cf.OS, cf.Architecture)
	}
	if cf.Config.Labels["org.opencontainers.image.version"] != "v1" {
		t.Errorf("labels = %v", cf.Config.Labels)
	}
	hdrs, data := readLayerFiles(t, out, "example.test/hsfleet:v1")
	if string(data["hsfleet"]) != "#!fake hsfleet binary" || hdrs["hsfleet"].Mode&0o111 == 0 {
		t.Errorf("binary in layer: %q mode %o", data["hsfleet"], hdrs["hsfleet"].Mode)
	}
	if !bytes.Contains(data["etc/passwd"], []byte("nonroot:x:65532:65532")) {
		t.Errorf("etc/passwd lacks the nonroot user: %q", data["etc/passwd"])
	}
	if h := hdrs["tmp/"]; h == nil || h.Mode&0o1777 != 0o1777 {
		t.Errorf("/tmp must be a sticky world-writable dir, got %+v", h)
	}
}

func TestImageDigestIsReproducible(t *testing.T) {
	bin := writeFakeBinary(t, "same bytes")
	digest := func() string {
		img, err := buildImage(spec{BinaryPath: bin, InImage: "/hsfleet", User: "65532:65532", Arch: "amd64"})
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	if a, b := digest(), digest(); a != b {
		t.Fatalf("two builds of the same binary differ: %s vs %s", a, b)
	}
}

func TestNestedBinaryPathGetsParentDirectories(t *testing.T) {
	out := filepath.Join(t.TempDir(), "img.tar")
	bin := writeFakeBinary(t, "pause")
	if err := run([]string{"-binary", bin, "-path", "/usr/local/bin/pause", "-tag", "pause:test", "-out", out}); err != nil {
		t.Fatal(err)
	}
	hdrs, _ := readLayerFiles(t, out, "pause:test")
	for _, d := range []string{"usr/", "usr/local/", "usr/local/bin/"} {
		if h := hdrs[d]; h == nil || h.Typeflag != tar.TypeDir {
			t.Errorf("missing parent dir %s", d)
		}
	}
}

func TestInvalidInputsAreRejected(t *testing.T) {
	bin := writeFakeBinary(t, "x")
	out := filepath.Join(t.TempDir(), "img.tar")
	cases := []struct {
		name string
		args []string
	}{
		{"relative path in image", []string{"-binary", bin, "-path", "hsfleet", "-out", out}},
		{"missing binary", []string{"-binary", filepath.Join(t.TempDir(), "nope"), "-out", out}},
		{"bad tag", []string{"-binary", bin, "-tag", "UPPER CASE:??", "-out", out}},
		{"label without value", []string{"-binary", bin, "-label", "novalue", "-out", out}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := run(tc.args); err == nil {
				t.Fatal("expected an error")
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("no tarball may be written on error")
			}
		})
	}
}
