package websocket

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// SOCKS5 (RFC 1928) with username/password authentication (RFC 1929), for
// DialOptions.Proxy URLs of scheme socks5 (hybi resolves the host and sends
// an address) and socks5h (hybi sends the host name; the proxy resolves it).

// SOCKS version, methods, command and address types (RFC 1928 §3-§5) and
// the username/password subnegotiation version (RFC 1929 §2).
const (
	socksVersion     = 5
	socksNoAuth      = 0x00
	socksUserPass    = 0x02
	socksNoMethod    = 0xff
	socksConnect     = 0x01
	socksIPv4        = 0x01
	socksDomain      = 0x03
	socksIPv6        = 0x04
	socksAuthVersion = 0x01
)

// SOCKSError is the error of a Dial whose SOCKS5 proxy refused: it accepts
// none of the authentication methods offered, rejected the username and
// password of the proxy URL, or answered the CONNECT request with a reply
// code other than 0 (succeeded). Match it with errors.As. A proxy that
// closes the connection or answers something that is not SOCKS5 gives a
// plain error instead.
type SOCKSError struct {
	Proxy string // the proxy's host:port
	// Reply is the REP field of the proxy's reply to CONNECT (RFC 1928 §6):
	// 1 general SOCKS server failure, 2 connection not allowed by ruleset,
	// 3 network unreachable, 4 host unreachable, 5 connection refused,
	// 6 TTL expired, 7 command not supported, 8 address type not
	// supported; 9 to 255 are unassigned. It is 0 when the proxy refused
	// before CONNECT, during authentication (Auth is set).
	Reply byte
	// Auth is set when the proxy refused authentication: it accepts none
	// of the offered methods (no authentication, and username/password when
	// the proxy URL has user info; RFC 1928 §3, METHOD X'FF'), or it
	// rejected the username and password (RFC 1929 §2, a non-zero STATUS).
	Auth bool
	// Status is the non-zero STATUS of a rejected username and password;
	// 0 when the proxy accepted none of the methods.
	Status byte
}

// socksReplies names the assigned reply codes (RFC 1928 §6).
var socksReplies = [...]string{
	1: "general SOCKS server failure",
	2: "connection not allowed by ruleset",
	3: "network unreachable",
	4: "host unreachable",
	5: "connection refused",
	6: "TTL expired",
	7: "command not supported",
	8: "address type not supported",
}

// Error reads like "websocket: dial: socks5 proxy 10.0.0.1:1080 refused
// CONNECT: host unreachable (reply 4)".
func (e *SOCKSError) Error() string {
	s := "websocket: dial: socks5 proxy " + e.Proxy
	switch {
	case e.Auth && e.Status != 0:
		return s + " rejected the username and password (status " + strconv.Itoa(int(e.Status)) + ")"
	case e.Auth:
		return s + " accepts none of the offered authentication methods"
	}
	meaning := "unassigned reply code"
	if int(e.Reply) < len(socksReplies) && socksReplies[e.Reply] != "" {
		meaning = socksReplies[e.Reply]
	}
	return s + " refused CONNECT: " + meaning + " (reply " + strconv.Itoa(int(e.Reply)) + ")"
}

// ErrSOCKSProtocol is matched (errors.Is) by the error of a SOCKS5 proxy
// that answers something that is not SOCKS5 (a wrong version, a method it
// was not offered, an unknown address type).
var ErrSOCKSProtocol = errors.New("websocket: dial: socks5 proxy broke the protocol")

// socksConnectTo asks the SOCKS5 proxy at the other end of nc to connect
// to target (host:port), authenticating with proxy's user info if it has
// some. With resolve, a host name is resolved here and sent as an address
// (socks5); otherwise it is sent as a name (socks5h). Every read takes
// exactly the bytes of the proxy's messages, so no byte of the tunnel is
// consumed. The caller bounds nc's I/O by ctx.
func socksConnectTo(ctx context.Context, nc net.Conn, proxy *url.URL, proxyAddr, target string, resolve bool) error {
	host, portStr, err := net.SplitHostPort(target)
	if err != nil {
		return fmt.Errorf("websocket: dial: socks5: %w", err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return fmt.Errorf("websocket: dial: socks5: bad port %q", portStr)
	}
	// The request's address: an IP literal is always sent as an address.
	var req []byte
	req = append(req, socksVersion, socksConnect, 0)
	addr, err := netip.ParseAddr(host)
	if err != nil && resolve {
		ips, lerr := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if lerr != nil {
			return fmt.Errorf("websocket: dial: socks5: resolving %s: %w", host, lerr)
		}
		addr, err = ips[0], nil // LookupNetIP returns at least one or an error
	}
	switch {
	case err == nil && addr.Unmap().Is4():
		a := addr.Unmap().As4()
		req = append(append(req, socksIPv4), a[:]...)
	case err == nil:
		a := addr.As16()
		req = append(append(req, socksIPv6), a[:]...)
	default:
		if len(host) == 0 || len(host) > 255 {
			return fmt.Errorf("websocket: dial: socks5: host name of %d bytes (1 to 255 can be sent)", len(host))
		}
		req = append(append(req, socksDomain, byte(len(host))), host...)
	}
	req = binary.BigEndian.AppendUint16(req, uint16(port))

	// Method selection (RFC 1928 §3).
	user := proxy.User
	hello := []byte{socksVersion, 1, socksNoAuth}
	if user != nil {
		hello = []byte{socksVersion, 2, socksNoAuth, socksUserPass}
	}
	wrap := func(err error) error {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("websocket: dial: socks5 proxy %s: %w", proxyAddr, err)
	}
	method, err := socksExchange(nc, hello, socksVersion, "method selection")
	if err != nil {
		return wrap(err)
	}
	switch {
	case method == socksNoAuth:
	case method == socksUserPass && user != nil:
		if err := socksAuth(nc, user, wrap); err != nil {
			var se *SOCKSError
			if errors.As(err, &se) {
				se.Proxy = proxyAddr
			}
			return err
		}
	case method == socksNoMethod:
		return &SOCKSError{Proxy: proxyAddr, Auth: true}
	default:
		return wrap(fmt.Errorf("%w: it chose method %d, which was not offered", ErrSOCKSProtocol, method))
	}

	// The request and its reply (RFC 1928 §4, §6).
	if _, err := nc.Write(req); err != nil {
		return wrap(err)
	}
	var head [4]byte // VER REP RSV ATYP
	if _, err := io.ReadFull(nc, head[:]); err != nil {
		return wrap(err)
	}
	if head[0] != socksVersion {
		return wrap(fmt.Errorf("%w: version %d in its reply, want 5", ErrSOCKSProtocol, head[0]))
	}
	if head[1] != 0 {
		return &SOCKSError{Proxy: proxyAddr, Reply: head[1]}
	}
	// Skip BND.ADDR and BND.PORT: exactly their length.
	var rest int
	switch head[3] {
	case socksIPv4:
		rest = 4 + 2
	case socksIPv6:
		rest = 16 + 2
	case socksDomain:
		var n [1]byte
		if _, err := io.ReadFull(nc, n[:]); err != nil {
			return wrap(err)
		}
		rest = int(n[0]) + 2
	default:
		return wrap(fmt.Errorf("%w: address type %d in its reply", ErrSOCKSProtocol, head[3]))
	}
	if _, err := io.ReadFull(nc, make([]byte, rest)); err != nil {
		return wrap(err)
	}
	return nil
}

// socksAuth runs the username/password subnegotiation (RFC 1929 §2).
func socksAuth(nc net.Conn, user *url.Userinfo, wrap func(error) error) error {
	name := user.Username()
	pass, _ := user.Password()
	if len(name) == 0 || len(name) > 255 || len(pass) == 0 || len(pass) > 255 {
		return wrap(errors.New("username and password must each be 1 to 255 bytes (RFC 1929)"))
	}
	msg := append([]byte{socksAuthVersion, byte(len(name))}, name...)
	msg = append(append(msg, byte(len(pass))), pass...)
	status, err := socksExchange(nc, msg, socksAuthVersion, "username/password status")
	if err != nil {
		return wrap(err)
	}
	if status != 0 {
		return &SOCKSError{Auth: true, Status: status}
	}
	return nil
}

// socksExchange sends msg and reads the proxy's two-byte answer (a
// version and a value: the chosen method, or the status of the
// username/password), checking the version; it returns the value.
func socksExchange(nc net.Conn, msg []byte, version byte, what string) (byte, error) {
	if _, err := nc.Write(msg); err != nil {
		return 0, err
	}
	var b [2]byte
	if _, err := io.ReadFull(nc, b[:]); err != nil {
		return 0, err
	}
	if b[0] != version {
		return 0, fmt.Errorf("%w: version %d in its %s, want %d", ErrSOCKSProtocol, b[0], what, version)
	}
	return b[1], nil
}

// allProxy returns the proxy that ALL_PROXY (or all_proxy) names for a
// request to hostport, or nil when it names none or NO_PROXY (or no_proxy)
// excludes the host. As net/http does for HTTP_PROXY, requests to
// localhost and loopback addresses are never proxied, and a value without
// a scheme means http.
func allProxy(getenv func(string) string, hostport string) (*url.URL, error) {
	v := envAny(getenv, "ALL_PROXY", "all_proxy")
	if v == "" {
		return nil, nil
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, err
	}
	host = strings.ToLower(host)
	if host == "localhost" {
		return nil, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		return nil, nil
	}
	if noProxy(envAny(getenv, "NO_PROXY", "no_proxy"), host, port) {
		return nil, nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		if u2, err2 := url.Parse("http://" + v); err2 == nil {
			return u2, nil
		}
		return nil, fmt.Errorf("invalid ALL_PROXY %q", v)
	}
	return u, nil
}

// envAny returns the first non-empty variable of names.
func envAny(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// noProxy reports whether the NO_PROXY list excludes host (lower case, no
// brackets) and port, with the rules net/http documents for NO_PROXY:
// entries separated by commas; "*" excludes every host; an IP address or
// CIDR range matches addresses; a name matches itself and its subdomains,
// a name with a leading "." (or "*.") only its subdomains; an entry with a
// port matches only that port.
func noProxy(list, host, port string) bool {
	ip, ipErr := netip.ParseAddr(host)
	for _, e := range strings.Split(list, ",") {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case e == "":
			continue
		case e == "*":
			return true
		}
		if pfx, err := netip.ParsePrefix(e); err == nil {
			if ipErr == nil && pfx.Contains(ip) {
				return true
			}
			continue
		}
		if eh, ep, err := net.SplitHostPort(e); err == nil {
			if ep != port {
				continue
			}
			e = eh
		}
		e = strings.Trim(e, "[]")
		if eip, err := netip.ParseAddr(e); err == nil {
			if ipErr == nil && eip == ip {
				return true
			}
			continue
		}
		e = strings.TrimPrefix(e, "*")
		if strings.HasPrefix(e, ".") {
			if strings.HasSuffix(host, e) {
				return true
			}
			continue
		}
		if host == e || strings.HasSuffix(host, "."+e) {
			return true
		}
	}
	return false
}
