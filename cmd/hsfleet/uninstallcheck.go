package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/hsfleet/hsfleet/api/v1alpha1"
)

func init() {
	register(command{name: "uninstall-check", summary: "fail while HSAgents exist (the chart's pre-delete hook)", run: runUninstallCheck})
}

// errAgentsExist: uninstalling now would strand the HSAgents' finalizers.
var errAgentsExist = errors.New("HSAgents still exist")

// uninstallCheckShown bounds the agents the message names.
const uninstallCheckShown = 20

// runUninstallCheck is the chart's pre-delete hook: `helm uninstall`
// removes the operator, and without it nobody releases the HSAgents'
// cleanup finalizers (docs/deploy.md), so it refuses while any exist.
func runUninstallCheck(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("uninstall-check", flag.ContinueOnError)
	namespaces := fs.String("namespaces", "", "comma-separated namespaces to look in (empty: every namespace)")
	release := fs.String("release", "", "Helm release name and namespace (ns/name), for the message")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("kubernetes config: %w", err)
	}
	return uninstallCheck(ctx, cfg, splitList(*namespaces), *release, os.Stderr)
}

// uninstallCheck lists HSAgents and returns errAgentsExist, after
// explaining what to do on out, when there are any. A cluster without the
// CRD has none.
func uninstallCheck(ctx context.Context, cfg *rest.Config, namespaces []string, release string, out io.Writer) error {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	if len(namespaces) == 0 {
		namespaces = []string{""} // every namespace
	}
	var found []string
	for _, ns := range namespaces {
		var list v1alpha1.HSAgentList
		err := c.List(ctx, &list, client.InNamespace(ns))
		if meta.IsNoMatchError(err) {
			return nil // no CRD, no HSAgents
		}
		if err != nil {
			return fmt.Errorf("list HSAgents: %w", err)
		}
		for _, a := range list.Items {
			found = append(found, a.Namespace+"/"+a.Name)
		}
	}
	if len(found) == 0 {
		fmt.Fprintln(out, "no HSAgents left: uninstall may go on")
		return nil
	}
	shown := strings.Join(found, " ")
	if len(found) > uninstallCheckShown {
		shown = strings.Join(found[:uninstallCheckShown], " ") + " ..."
	}
	uninstall := "helm uninstall"
	if ns, name, ok := strings.Cut(release, "/"); ok {
		uninstall = fmt.Sprintf("helm -n %s uninstall %s", ns, name)
	}
	fmt.Fprintf(out, "refusing to uninstall: %d HSAgents still exist (%s).\n"+
		"Without the operator nobody releases their cleanup finalizers, so they (and their namespaces) could not be deleted,\n"+
		"and their database rows would stay behind. Delete them first, while the operator runs:\n"+
		"  kubectl delete hsa --all -A --wait && %s\n"+
		"(%s --no-hooks skips this check.)\n",
		len(found), shown, uninstall, uninstall)
	return fmt.Errorf("%w: %d", errAgentsExist, len(found))
}
