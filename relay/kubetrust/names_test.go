package kubetrust

import (
	"testing"

	"github.com/hsfleet/hsfleet/controllers"
)

// The relay selects exactly what the operator writes.
func TestNamesMatchTheOperator(t *testing.T) {
	if ConfigMapName != controllers.TrustBundleName || BundleKey != controllers.TrustBundleKey ||
		ManagedByLabel != controllers.ManagedByLabel || ManagedByValue != controllers.ManagedByValue {
		t.Fatal("relay/kubetrust names differ from controllers/names.go")
	}
}
