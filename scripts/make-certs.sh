#!/bin/sh
# Makes a private CA and server certificates for gossip-cdn's TLS (README "TLS").
#
#   scripts/make-certs.sh DIR                       # the docker-compose.tls.yml set
#   scripts/make-certs.sh DIR NAME SANS [NAME SANS]...
#
# DIR/ca.pem and DIR/ca.key are made once (kept when they exist: certificates
# made later are signed by the same CA); then, for each NAME, DIR/NAME.pem and
# DIR/NAME.key (mode 0600), a certificate for the subjectAltName list SANS,
# e.g. "IP:10.0.0.5,DNS:cdn1.example". A node's certificate must name the
# address its peers dial: the IP the Point saw it connect from, or its
# --advertise host (an IP SAN for an IP address, DNS for a name). The Point's
# must name the host in the nodes' --bootstrap URL.
#
# Without NAME SANS: `point` (DNS:point, DNS:point2, DNS:localhost, IP:127.0.0.1;
# the compose file's two Points share it) and one
# `node` certificate shared by every replica of the compose file's node
# service, naming DNS:node, 127.0.0.1 and every address of the compose TLS
# network (172.28.0.2-254), since a replica's address is not known before it
# starts. Outside compose give each node its own certificate.
#
# Needs the openssl CLI. Certificates are ECDSA P-256, valid for 825 days.
set -eu

if [ $# -lt 1 ] || [ $(( ($# - 1) % 2 )) -ne 0 ]; then
  echo "usage: $0 DIR [NAME SANS]..." >&2
  exit 2
fi
dir=$1
shift
mkdir -p "$dir"
umask 077
days=825
conf=$(mktemp)
trap 'rm -f "$conf" "$dir"/*.csr' EXIT

if [ ! -f "$dir/ca.pem" ] || [ ! -f "$dir/ca.key" ]; then
  cat > "$conf" <<CONF
[req]
distinguished_name = dn
x509_extensions = ca
prompt = no
[dn]
CN = gossip-cdn private CA
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CONF
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" -days "$days" -config "$conf" 2>/dev/null
  chmod 644 "$dir/ca.pem"
fi

# one certificate: NAME SANS
issue() {
  name=$1
  sans=$2
  cat > "$conf" <<CONF
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = $sans
CONF
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/CN=$name" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$days" -extfile "$conf" -out "$dir/$name.pem" 2>/dev/null
  chmod 644 "$dir/$name.pem"
  chmod 600 "$dir/$name.key"
  if [ ${#sans} -gt 100 ]; then echo "$dir/$name.pem ($(printf '%.100s' "$sans")...)"; else echo "$dir/$name.pem ($sans)"; fi
}

if [ $# -eq 0 ]; then
  issue point "DNS:point,DNS:point2,DNS:localhost,IP:127.0.0.1"
  network=""
  i=2
  while [ "$i" -le 254 ]; do
    network="$network,IP:172.28.0.$i"
    i=$((i + 1))
  done
  issue node "DNS:node,DNS:localhost,IP:127.0.0.1$network"
else
  while [ $# -gt 0 ]; do
    issue "$1" "$2"
    shift 2
  done
fi
echo "$dir/ca.pem (the CA: give it to every node, the Point and clients as --tls-ca)"
