package adversary

import (
	"testing"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
