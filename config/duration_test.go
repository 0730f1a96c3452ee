package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"5s", 5 * time.Second, ""},
		{"10m", 10 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"-5m", -5 * time.Minute, ""},
		{"0", 0, ""},
		{"7d", 7 * day, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"1.5d", 36 * time.Hour, ""},
		{"+2d", 2 * day, ""},
		{"-1d", -day, ""},
		{"0d", 0, ""},
		{" 3m ", 3 * time.Minute, ""},
		{"ten", 0, "invalid duration"},
		{"x", 0, "invalid duration"},
		{"600", 0, "missing unit (such as 600s)"},
		{"", 0, "must not be empty"},
		{"d", 0, "invalid duration"},
		{"1d-1h", 0, "invalid duration"},
		{"1d2d", 0, "invalid duration"},
		{"1e3d", 0, "invalid duration"},
		{"infd", 0, "invalid duration"},
		{"1w", 0, "invalid duration"},
		{"106752d", 0, "out of range"},
		{"106751d23h47m16s854775807ns", 0, "out of range"},
		{"9999999999h", 0, "invalid duration"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Errorf("got %v, %v, want %v", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, %v, want an error containing %q", got, err, tt.wantErr)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{time.Hour, "1h"},
		{10 * time.Minute, "10m"},
		{90 * time.Minute, "1h30m"},
		{168 * time.Hour, "168h"},
		{time.Hour + time.Second, "1h0m1s"},
		{1500 * time.Millisecond, "1.5s"},
		{0, "0s"},
		{-5 * time.Minute, "-5m"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := formatDuration(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if back, err := parseDuration(formatDuration(tt.in)); err != nil || back != tt.in {
				t.Errorf("round trip: got %v, %v, want %v", back, err, tt.in)
			}
		})
	}
}
