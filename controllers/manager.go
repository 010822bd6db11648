package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// NewScheme holds the built-in types and hsfleet.io/v1alpha1.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := hsv1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// CacheOptions scopes the manager's cache: the given namespaces (all when
// empty), and only the Secrets, ConfigMaps and StatefulSets the operator
// labels, so memory does not grow with the cluster's other objects.
func CacheOptions(namespaces []string) cache.Options {
	owned := labels.SelectorFromSet(labels.Set{ManagedByLabel: ManagedByValue})
	opts := cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}:      {Label: owned},
			&corev1.ConfigMap{}:   {Label: owned},
			&appsv1.StatefulSet{}: {Label: owned},
		},
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}
