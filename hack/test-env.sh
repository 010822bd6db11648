# Sourced by `make test` and `make bench`: puts what the tests need on the
# environment. Tests that need PostgreSQL start their own throwaway server
# (agent/store/pgtest) unless HSFLEET_TEST_DSN is set; envtest needs
# KUBEBUILDER_ASSETS, built from source and cached by hack/envtest-assets.sh.
_hack_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -d /usr/lib/postgresql ]; then
  _pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [ -n "$_pg_bin" ] && export PATH="$PATH:$_pg_bin"
fi
if [ -z "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$_hack_dir/envtest-assets.sh" ]; then
  KUBEBUILDER_ASSETS=$("$_hack_dir/envtest-assets.sh") || return 1
  export KUBEBUILDER_ASSETS
fi
unset _hack_dir _pg_bin
