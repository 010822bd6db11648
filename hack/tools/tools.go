//go:build tools

// Package tools pins the project's dependencies and code generators in go.mod
// before the packages that use them exist, so parallel work never edits go.mod.
package tools

import (
	_ "github.com/google/go-containerregistry/pkg/v1/tarball"
	_ "github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "golang.org/x/crypto/scrypt"
	_ "k8s.io/api/core/v1"
	_ "k8s.io/client-go/kubernetes"
	_ "modernc.org/sqlite"
	_ "sigs.k8s.io/controller-runtime"
	_ "sigs.k8s.io/controller-runtime/pkg/envtest"
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
