package config

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    Size
		wantErr string // substring of the error; "" for success
	}{
		{"16MiB", 16 << 20, ""},
		{"4MiB", 4 << 20, ""},
		{"512KiB", 512 << 10, ""},
		{"1GiB", 1 << 30, ""},
		{"10MB", 10_000_000, ""},
		{"1000", 1000, ""},
		{"4 MiB", 4 << 20, ""},
		{"16mib", 16 << 20, ""},
		{"16MIB", 16 << 20, ""},
		{"2kb", 2000, ""},
		{"2kB", 2000, ""},
		{"7B", 7, ""},
		{"0", 0, ""},
		{" 3 GB ", 3_000_000_000, ""},
		{"+1KiB", 1024, ""},
		{"1.5KiB", 1536, ""},
		{"0.5MB", 500_000, ""},
		{".5KiB", 512, ""},
		{"1.0001KiB", 1024, ""}, // 1024.1024 bytes, rounded down
		{"7EiB", 7 << 60, ""},
		{"9223372036854775807", 1<<63 - 1, ""},
		{"16XB", 0, `unknown unit "XB"`},
		{"16 M", 0, `unknown unit "M"`},
		{"-1MiB", 0, "negative"},
		{"", 0, "must not be empty"},
		{"   ", 0, "must not be empty"},
		{"MiB", 0, "want a number"},
		{"1..5MiB", 0, "want a number"},
		{"1.MiB", 0, "want a number"},
		{"1.2.3", 0, "want a number"},
		{"0x10", 0, "unknown unit"},
		{"1e6", 0, "unknown unit"},
		{"9223372036854775808", 0, "out of range"},
		{"8EiB", 0, "out of range"},
		{"9000PB", 9_000_000_000_000_000_000, ""},
		{"9300PB", 0, "out of range"},
		{"8.5EiB", 0, "out of range"},
		{strings.Repeat("9", 100) + "B", 0, "out of range"},
		{"99999999999999999999999TiB", 0, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want %d", err, tt.want)
				}
				if got != tt.want {
					t.Errorf("got %d, want %d", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %d, want an error containing %q", got, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `"`+tt.in+`"`) {
				t.Errorf("got error %q, want it to quote the input and contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestSizeString(t *testing.T) {
	tests := []struct {
		in   Size
		want string
	}{
		{16 * MiB, "16MiB"},
		{512 * KiB, "512KiB"},
		{1536, "1536B"},
		{GiB, "1GiB"},
		{1024 * GiB, "1TiB"},
		{10 * MB, "10000000B"},
		{0, "0B"},
		{-2 * KiB, "-2KiB"},
		{-1 << 63, "-8EiB"},
		{1<<63 - 1, "9223372036854775807B"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if tt.in < 0 {
				return
			}
			var back Size
			if err := back.UnmarshalText([]byte(tt.in.String())); err != nil || back != tt.in {
				t.Errorf("round trip: got %d, %v, want %d", back, err, tt.in)
			}
		})
	}
}

func TestSizeMarshalText(t *testing.T) {
	got, err := (4 * MiB).MarshalText()
	if err != nil || string(got) != "4MiB" {
		t.Errorf("got %q, %v, want 4MiB", got, err)
	}
}

func TestSizeUnmarshalTextError(t *testing.T) {
	n := 5 * MiB
	err := n.UnmarshalText([]byte("lots"))
	if err == nil {
		t.Fatal("got no error, want one")
	}
	if n != 5*MiB {
		t.Errorf("got %v after a failed decode, want it unchanged (5MiB)", n)
	}
	if errors.Unwrap(err) == nil {
		t.Errorf("got unwrappable error %v, want a wrapped reason", err)
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"16MiB", "4 MiB", "1.5GiB", "-1MiB", "", "9223372036854775807", "8EiB", ".5kb", "1..2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d, want no negative size", s, n)
		}
		back, err := ParseSize(n.String())
		if err != nil || back != n {
			t.Fatalf("ParseSize(%q) = %d, but %q reads back as %d, %v", s, n, n.String(), back, err)
		}
	})
}
