// Package mqtttest starts a real Mosquitto broker for tests: on a free loopback port, with
// persistence in the test's temp dir (so a Restart, on the same port, keeps retained messages and
// queued persistent sessions) unless Config.NoPersistence, optionally with TLS and client
// certificates or a password file.
//
// It owns the broker process and nothing else. When mosquitto is not installed the test is
// skipped, except under CI (the CI environment variable set), where it fails: a broker-less CI
// run must not pass silently. It must only ever listen on 127.0.0.1.
package mqtttest

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
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/testproc"
)

// Config chooses the broker's security. The zero Config is a plain anonymous listener.
type Config struct {
	// TLS makes the listener ssl:// with a fresh CA and server certificate; the client side's
	// files are in Broker.CAFile, Broker.CertFile and Broker.KeyFile.
	TLS bool
	// RequireClientCert makes the broker demand a client certificate signed by the CA (TLS only).
	RequireClientCert bool
	// Users, when not empty, turns off anonymous access and accepts these user/password pairs.
	Users map[string]string
	// NoPersistence runs the broker as Mosquitto does out of the box (persistence false): a
	// restart forgets retained messages, persistent sessions and the messages queued for them.
	NoPersistence bool
}

// Broker is a running (or stopped) Mosquitto.
type Broker struct {
	t       testing.TB
	bin     string
	dir     string
	conf    string
	port    int
	scheme  string
	logPath string

	// Client-side TLS files, set when Config.TLS: the CA that signed the broker's certificate,
	// and a client certificate and key signed by the same CA.
	CAFile, CertFile, KeyFile string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Find returns the path of the mosquitto binary, or "" when it is not installed.
func Find() string {
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	return ""
}

// Start starts an anonymous plain-TCP broker and stops it when the test ends.
func Start(t testing.TB) *Broker { return StartWith(t, Config{}) }

// StartWith starts a broker configured by c and stops it when the test ends.
func StartWith(t testing.TB, c Config) *Broker {
	t.Helper()
	bin := Find()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("mqtttest: mosquitto is not installed and CI is set: install it (apt-get install -y mosquitto)")
		}
		t.Skip("mqtttest: mosquitto is not installed (apt-get install -y mosquitto); skipping")
	}
	b := &Broker{t: t, bin: bin, dir: t.TempDir(), scheme: "tcp"}
	b.logPath = filepath.Join(b.dir, "mosquitto.log")
	b.conf = filepath.Join(b.dir, "mosquitto.conf")
	t.Cleanup(b.kill)

	var extra []string
	if c.TLS {
		b.scheme = "ssl"
		if err := b.writeCerts(); err != nil {
			t.Fatalf("mqtttest: certificates: %v", err)
		}
		extra = append(extra,
			"cafile "+filepath.Join(b.dir, "ca.pem"),
			"certfile "+filepath.Join(b.dir, "server.pem"),
			"keyfile "+filepath.Join(b.dir, "server.key"),
			"require_certificate "+strconv.FormatBool(c.RequireClientCert),
		)
	}
	anonymous := "true"
	if len(c.Users) > 0 {
		anonymous = "false"
		pw := filepath.Join(b.dir, "passwd")
		for u, p := range c.Users {
			args := []string{"-b", pw, u, p}
			if _, err := os.Stat(pw); err != nil {
				args = append([]string{"-c"}, args...)
			}
			if out, err := exec.Command(filepath.Join(filepath.Dir(bin), "..", "bin", "mosquitto_passwd"), args...).CombinedOutput(); err != nil {
				if out2, err2 := exec.Command("mosquitto_passwd", args...).CombinedOutput(); err2 != nil {
					t.Fatalf("mqtttest: mosquitto_passwd: %v: %s / %v: %s", err, out, err2, out2)
				}
			}
		}
		extra = append(extra, "password_file "+pw)
	}

	// A port chosen by the kernel can be taken between our close and the broker's bind; try a few.
	var err error
	for range 5 {
		b.port, err = freePort()
		if err != nil {
			t.Fatalf("mqtttest: free port: %v", err)
		}
		conf := []string{
			fmt.Sprintf("listener %d 127.0.0.1", b.port),
			"allow_anonymous " + anonymous,
			"persistence " + strconv.FormatBool(!c.NoPersistence),
			"persistence_location " + b.dir + "/",
			"max_queued_messages 1000000",
			"max_inflight_messages 100",
			"log_dest file " + b.logPath,
			"log_type error",
			"log_type warning",
			"log_type notice",
		}
		if os.Geteuid() == 0 {
			// As root mosquitto switches to the "mosquitto" user, which cannot write the temp dir.
			conf = append(conf, "user root")
		}
		conf = append(conf, extra...)
		if err = os.WriteFile(b.conf, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
			t.Fatalf("mqtttest: write config: %v", err)
		}
		if err = b.start(); err == nil {
			return b
		}
	}
	t.Fatalf("mqtttest: start mosquitto: %v\n%s", err, b.Log())
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs the broker and waits until it accepts TCP connections on its port.
func (b *Broker) start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil {
		return fmt.Errorf("already running")
	}
	cmd := exec.Command(b.bin, "-c", b.conf)
	cmd.SysProcAttr = testproc.DieWithParent()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			b.cmd, b.done = cmd, done
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("mosquitto exited at start: %s", lastLines(b.Log(), 5))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("mosquitto did not accept connections on %s within 10s", b.Addr())
		}
	}
}

// URL is the broker's address for an MQTT client: tcp://127.0.0.1:PORT or ssl://127.0.0.1:PORT.
// ConfigPath is the broker's config file (what `mosquitto -c` was given).
func (b *Broker) ConfigPath() string { return b.conf }

func (b *Broker) URL() string { return fmt.Sprintf("%s://%s", b.scheme, b.Addr()) }

// Addr is host:port.
func (b *Broker) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)) }

// Stop stops the broker gracefully (SIGTERM, so it saves its persistence file) and waits for it.
// Stopping a stopped broker does nothing.
func (b *Broker) Stop() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
		b.t.Errorf("mqtttest: mosquitto did not stop within 10s of SIGTERM; killed")
	}
	b.cmd, b.done = nil, nil
}

// Restart starts a stopped broker again on the same port, with the persisted state.
func (b *Broker) Restart() {
	b.t.Helper()
	b.Stop()
	var err error
	// The old socket may linger a moment; mosquitto sets SO_REUSEADDR, but retry briefly anyway.
	for range 5 {
		if err = b.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("mqtttest: restart mosquitto on %s: %v", b.Addr(), err)
}

// Running reports whether the broker process is up.
func (b *Broker) Running() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cmd != nil
}

// Log returns the broker's log so far.
func (b *Broker) Log() string {
	data, _ := os.ReadFile(b.logPath)
	return string(data)
}

func (b *Broker) kill() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Kill()
	<-b.done
	b.cmd, b.done = nil, nil
	if b.t.Failed() {
		b.t.Logf("mqtttest: mosquitto log (last lines):\n%s", lastLines(b.Log(), 30))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// writeCerts makes a CA, a server certificate for 127.0.0.1 and a client certificate.
func (b *Broker) writeCerts() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mqtttest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	b.CAFile = filepath.Join(b.dir, "ca.pem")
	if err := writePEM(b.CAFile, "CERTIFICATE", caDER); err != nil {
		return err
	}
	leaf := func(serial int64, name, certPath, keyPath string, usage x509.ExtKeyUsage, server bool) error {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		if server {
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
			tmpl.DNSNames = []string{"localhost"}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		if err := writePEM(certPath, "CERTIFICATE", der); err != nil {
			return err
		}
		return writePEM(keyPath, "EC PRIVATE KEY", kder)
	}
	if err := leaf(2, "127.0.0.1", filepath.Join(b.dir, "server.pem"), filepath.Join(b.dir, "server.key"), x509.ExtKeyUsageServerAuth, true); err != nil {
		return err
	}
	b.CertFile, b.KeyFile = filepath.Join(b.dir, "client.pem"), filepath.Join(b.dir, "client.key")
	return leaf(3, "punchd-test-client", b.CertFile, b.KeyFile, x509.ExtKeyUsageClientAuth, false)
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}
