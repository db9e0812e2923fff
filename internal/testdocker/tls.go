package testdocker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TLSFiles are the paths of PEM files for one side of a TLS connection.
type TLSFiles struct {
	CA   string // CA certificate
	Cert string // certificate
	Key  string // private key
}

// GenerateTLS writes to dir (created if needed) a CA, a server certificate
// for the given hosts (at least one; IP addresses or DNS names) and a client
// certificate, all ECDSA P-256 and valid for one day. The client files are named as the docker CLI expects them in
// DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem); the server's are ca.pem,
// server-cert.pem and server-key.pem.
func GenerateTLS(t testing.TB, dir string, hosts ...string) (server TLSFiles, client TLSFiles) {
	t.Helper()
	server, client, err := generateTLS(dir, hosts...)
	if err != nil {
		t.Fatalf("testdocker.GenerateTLS: %v", err)
	}
	return server, client
}

func generateTLS(dir string, hosts ...string) (server, client TLSFiles, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return server, client, err
	}
	now := time.Now()
	notBefore, notAfter := now.Add(-time.Hour), now.Add(24*time.Hour)

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return server, client, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "testdocker CA", Organization: []string{"falco-docker tests"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return server, client, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return server, client, err
	}
	caPath := filepath.Join(dir, "ca.pem")
	if err := writePEM(caPath, "CERTIFICATE", caDER, 0o644); err != nil {
		return server, client, err
	}

	issue := func(tmpl *x509.Certificate, certPath, keyPath string) error {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		if err := writePEM(certPath, "CERTIFICATE", der, 0o644); err != nil {
			return err
		}
		return writePEM(keyPath, "PRIVATE KEY", keyDER, 0o600)
	}

	srvTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			srvTmpl.IPAddresses = append(srvTmpl.IPAddresses, ip)
		} else {
			srvTmpl.DNSNames = append(srvTmpl.DNSNames, h)
		}
	}
	server = TLSFiles{CA: caPath, Cert: filepath.Join(dir, "server-cert.pem"), Key: filepath.Join(dir, "server-key.pem")}
	if err := issue(srvTmpl, server.Cert, server.Key); err != nil {
		return server, client, fmt.Errorf("server certificate: %w", err)
	}

	cliTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "testdocker client"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	client = TLSFiles{CA: caPath, Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem")}
	if err := issue(cliTmpl, client.Cert, client.Key); err != nil {
		return server, client, fmt.Errorf("client certificate: %w", err)
	}
	return server, client, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err)
	}
	return n.Add(n, big.NewInt(1))
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}
