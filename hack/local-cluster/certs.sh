# Certificates for the local cluster, made with openssl (sourced by up.sh).
# One CA signs every serving and client certificate; the service-account
# tokens get their own key pair.

# sign NAME CN ORG SAN EXT: a key and a certificate signed by the cluster CA.
# SAN is an openssl subjectAltName list or empty; EXT is serverAuth/clientAuth.
sign() {
  local name=$1 cn=$2 org=$3 san=$4 ext=$5 subj="/CN=$2"
  [ -f "$PKI/$name.crt" ] && return 0
  [ -n "$org" ] && subj="/O=$org/CN=$cn"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/$name.key" 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$ext"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

make_certs() {
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  if [ ! -f "$PKI/ca.crt" ]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=hsfleet-local-ca" -days 30 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$PKI/ca.crt" 2>/dev/null
  fi
  [ -f "$PKI/sa.key" ] || {
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key" 2>/dev/null
    openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  }
  sign apiserver kube-apiserver "" \
    "IP:$NODE_IP,IP:$KUBERNETES_SVC_IP,IP:127.0.0.1,DNS:localhost,DNS:$NODE_NAME,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" serverAuth
  sign apiserver-kubelet-client kube-apiserver-kubelet-client system:masters "" clientAuth
  sign admin admin system:masters "" clientAuth
  sign controller-manager system:kube-controller-manager "" "" clientAuth
  sign scheduler system:kube-scheduler "" "" clientAuth
  sign kube-proxy system:kube-proxy "" "" clientAuth
  sign kubelet-client "system:node:$NODE_NAME" system:nodes "" clientAuth
  sign kubelet-serving "system:node:$NODE_NAME" system:nodes "IP:$NODE_IP,DNS:$NODE_NAME" serverAuth
  sign coredns coredns "" "" clientAuth
}

# kubeconfig NAME CERT: a kubeconfig for one client certificate.
kubeconfig() {
  local out=$STATE/$1.kubeconfig cert=$2
  cat >"$out" <<KC
apiVersion: v1
kind: Config
clusters:
  - name: hsfleet-local
    cluster:
      server: https://$NODE_IP:6443
      certificate-authority: $PKI/ca.crt
users:
  - name: $1
    user:
      client-certificate: $PKI/$cert.crt
      client-key: $PKI/$cert.key
contexts:
  - name: hsfleet-local
    context: {cluster: hsfleet-local, user: $1}
current-context: hsfleet-local
KC
  chmod 600 "$out"
}
