package feed

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

func tlsConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("%w: --ca-file: %w", ErrUsage, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: --ca-file %s holds no PEM certificate", ErrUsage, caFile)
		}
		cfg.RootCAs = pool
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: --cert-file/--key-file: %w", ErrUsage, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
