package fetcher

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// deniedPrefixes are the networks DenyPrivateNetworks refuses, with the reason given.
var deniedPrefixes = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // broadcast included
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// IPv6 prefixes whose last 32 bits are an IPv4 address that the packet reaches.
var embedsIPv4 = []netip.Prefix{
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64
	netip.MustParsePrefix("::/96"),        // IPv4-compatible (deprecated)
}

// deniedAddr returns why DenyPrivateNetworks refuses a connection to a, or "" when it allows
// it: loopback, private (RFC 1918, fc00::/7), link-local, unspecified, multicast, reserved and
// carrier-grade NAT addresses, in IPv4-mapped, IPv4-compatible and NAT64 forms too.
func deniedAddr(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	a = a.WithZone("").Unmap()
	for _, d := range deniedPrefixes {
		if d.prefix.Contains(a) {
			return d.reason
		}
	}
	if a.Is6() {
		for _, p := range embedsIPv4 {
			if p.Contains(a) {
				b := a.As16()
				return deniedAddr(netip.AddrFrom4([4]byte(b[12:])))
			}
		}
	}
	return ""
}

// forbiddenError is a connection refused by DenyPrivateNetworks.
type forbiddenError struct {
	addr   string
	reason string
}

func (e *forbiddenError) Error() string {
	return fmt.Sprintf("connection to %s refused: %s address (deny_private_networks)", e.addr, e.reason)
}

// control is the dialer's hook, called for every address after DNS resolution and before the
// connection is made: a name that resolves to a denied address, at the first request or any
// redirect, is refused however often its DNS answer changes.
func (f *Fetcher) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &forbiddenError{addr: address, reason: "unparseable"}
	}
	if reason := f.denied(ap.Addr()); reason != "" {
		return &forbiddenError{addr: address, reason: reason}
	}
	return nil
}

// dialer returns the dialer of the Fetcher's transport; control, when not nil, vets each
// address.
func dialer(timeout time.Duration, control func(network, address string, c syscall.RawConn) error) *net.Dialer {
	return &net.Dialer{Timeout: min(10*time.Second, timeout), KeepAlive: 30 * time.Second, Control: control}
}
