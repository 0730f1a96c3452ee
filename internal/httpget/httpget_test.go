package httpget

import (
	"net/netip"
	"testing"
	"time"
)

func TestDeniedAddr(t *testing.T) {
	tests := []struct {
		addr string
		want string // "" when allowed
	}{
		{addr: "127.0.0.1", want: "loopback"},
		{addr: "127.255.0.9", want: "loopback"},
		{addr: "::1", want: "loopback"},
		{addr: "10.1.2.3", want: "private"},
		{addr: "172.16.0.1", want: "private"},
		{addr: "172.31.255.255", want: "private"},
		{addr: "192.168.1.1", want: "private"},
		{addr: "fc00::1", want: "private"},
		{addr: "fd12:3456::1", want: "private"},
		{addr: "169.254.169.254", want: "link-local"}, // cloud metadata
		{addr: "fe80::1", want: "link-local"},
		{addr: "fe80::1%eth0", want: "link-local"},
		{addr: "fec0::1", want: "site-local"},
		{addr: "0.0.0.0", want: "unspecified"},
		{addr: "0.1.2.3", want: "unspecified"},
		{addr: "::", want: "unspecified"},
		{addr: "224.0.0.1", want: "multicast"},
		{addr: "239.255.255.250", want: "multicast"},
		{addr: "ff02::1", want: "multicast"},
		{addr: "100.64.0.1", want: "shared (carrier-grade NAT)"},
		{addr: "100.127.255.255", want: "shared (carrier-grade NAT)"},
		{addr: "255.255.255.255", want: "reserved"},
		{addr: "::ffff:127.0.0.1", want: "loopback"},
		{addr: "::ffff:10.0.0.1", want: "private"},
		{addr: "::ffff:169.254.169.254", want: "link-local"},
		{addr: "64:ff9b::7f00:1", want: "loopback"}, // NAT64 of 127.0.0.1
		{addr: "64:ff9b::a00:1", want: "private"},   // NAT64 of 10.0.0.1
		{addr: "::127.0.0.1", want: "loopback"},     // IPv4-compatible
		{addr: "8.8.8.8"},
		{addr: "172.32.0.1"},
		{addr: "100.128.0.1"},
		{addr: "192.169.0.1"},
		{addr: "2001:4860:4860::8888"},
		{addr: "::ffff:8.8.8.8"},
		{addr: "64:ff9b::808:808"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := DeniedAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got := DeniedAddr(netip.Addr{}); got != "invalid" {
		t.Errorf("zero address: got %q, want invalid", got)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{name: "empty", value: "", want: 0},
		{name: "seconds", value: "120", want: 2 * time.Minute},
		{name: "padded", value: " 30 ", want: 30 * time.Second},
		{name: "zero", value: "0", want: 0},
		{name: "negative", value: "-5", want: 0},
		{name: "huge", value: "99999999999999999", want: time.Duration(int64(1<<63-1)/int64(time.Second)) * time.Second},
		{name: "http date", value: "Sun, 01 Mar 2026 12:10:00 GMT", want: 10 * time.Minute},
		{name: "past date", value: "Sun, 01 Mar 2026 11:00:00 GMT", want: 0},
		{name: "garbage", value: "tomorrow", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RetryAfter(tt.value, now); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
