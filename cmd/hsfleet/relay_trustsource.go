package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/hsfleet/hsfleet/relay"
	"github.com/hsfleet/hsfleet/relay/kubetrust"
)

// pendingAPITrustSource marks --trust-source=api while flags are parsed;
// resolveTrustSource replaces it with the API watcher once logging is set
// up (the flag may come before --log-level, or from the environment).
type pendingAPITrustSource struct{}

func (pendingAPITrustSource) Watch(context.Context, func(relay.TrustUpdate)) {}
func (pendingAPITrustSource) Synced() bool                                   { return false }

// relayRESTConfig finds the API server: in a pod the ServiceAccount,
// otherwise KUBECONFIG / --kubeconfig as controller-runtime resolves them.
// A variable so tests point it at envtest.
var relayRESTConfig = func() (*rest.Config, error) { return ctrl.GetConfig() }

// resolveTrustSource builds the Kubernetes trust source for
// --trust-source=api.
func resolveTrustSource(cfg *relay.ServerConfig, logger *slog.Logger) error {
	if _, ok := cfg.TrustSource.(pendingAPITrustSource); !ok {
		return nil
	}
	if cfg.TrustBundle != "" {
		return errors.New("--trust-source=api and --trust-bundle are exclusive")
	}
	rc, err := relayRESTConfig()
	if err != nil {
		return fmt.Errorf("--trust-source=api: %w", err)
	}
	src, err := kubetrust.New(rc, logger.With("component", "trust-source"))
	if err != nil {
		return err
	}
	cfg.TrustSource = src
	return nil
}
