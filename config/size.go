package config

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Size is a number of bytes. It is written as a count with an optional unit: IEC (KiB, MiB,
// GiB, TiB, PiB, EiB: powers of 1024) or SI (kB, MB, GB, TB, PB, EB: powers of 1000), or B; units
// are case-insensitive, a space may separate them from the count and a decimal fraction is
// allowed ("1.5GiB", rounded down to a whole byte). A count without a unit is bytes.
type Size int64

// Size units: B, then IEC (powers of 1024) and SI (powers of 1000).
const (
	B Size = 1

	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
	TiB Size = 1 << 40
	PiB Size = 1 << 50
	EiB Size = 1 << 60

	KB Size = 1000
	MB Size = 1000 * KB
	GB Size = 1000 * MB
	TB Size = 1000 * GB
	PB Size = 1000 * TB
	EB Size = 1000 * PB
)

var sizeUnits = map[string]Size{
	"": B, "b": B,
	"kib": KiB, "mib": MiB, "gib": GiB, "tib": TiB, "pib": PiB, "eib": EiB,
	"kb": KB, "mb": MB, "gb": GB, "tb": TB, "pb": PB, "eb": EB,
}

// iecUnits is in the order String tries them.
var iecUnits = []struct {
	name string
	size Size
}{{"EiB", EiB}, {"PiB", PiB}, {"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}}

// maxSizeDigits bounds the digits of a count; more can only overflow.
const maxSizeDigits = 40

// ParseSize parses a size such as "16MiB", "4 MiB", "512KiB", "10MB" or "1000".
func ParseSize(s string) (Size, error) {
	n, err := parseSize(s)
	if err != nil {
		return 0, fmt.Errorf("parse size %q: %w", s, err)
	}
	return n, nil
}

// parseSize returns errors that say what is wrong without repeating s, for Problem.Msg.
func parseSize(s string) (Size, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("must not be empty")
	}
	if s[0] == '-' {
		return 0, errors.New("invalid size: must not be negative")
	}
	s = strings.TrimPrefix(s, "+")
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	intPart, frac, hasDot := strings.Cut(num, ".")
	if intPart == "" && frac == "" || strings.Contains(frac, ".") || hasDot && frac == "" {
		return 0, errors.New("invalid size: want a number of bytes with an optional unit, such as 16MiB")
	}
	mult, ok := sizeUnits[strings.ToLower(unit)]
	if !ok {
		return 0, fmt.Errorf("invalid size: unknown unit %q (use B, KiB, MiB, GiB, TiB or kB, MB, GB, TB)", unit)
	}
	if len(intPart)+len(frac) > maxSizeDigits {
		return 0, errors.New("invalid size: out of range")
	}
	if frac == "" {
		n, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil || n > int64(maxSize/mult) {
			return 0, errors.New("invalid size: out of range")
		}
		return Size(n) * mult, nil
	}
	// count × unit ÷ 10^len(frac), exactly, then rounded down.
	v, _ := new(big.Int).SetString(intPart+frac, 10)
	v.Mul(v, big.NewInt(int64(mult)))
	v.Quo(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil))
	if !v.IsInt64() {
		return 0, errors.New("invalid size: out of range")
	}
	return Size(v.Int64()), nil
}

const maxSize = Size(1<<63 - 1)

// String returns n in the largest IEC unit that divides it exactly, such as "16MiB", or in bytes
// ("1000B"). ParseSize reads it back.
func (n Size) String() string {
	if n == 0 {
		return "0B"
	}
	sign, m := "", uint64(n)
	if n < 0 {
		sign, m = "-", -m
	}
	for _, u := range iecUnits {
		if m%uint64(u.size) == 0 {
			return sign + strconv.FormatUint(m/uint64(u.size), 10) + u.name
		}
	}
	return sign + strconv.FormatUint(m, 10) + "B"
}

// MarshalText encodes n as String does.
func (n Size) MarshalText() ([]byte, error) {
	return []byte(n.String()), nil
}

// UnmarshalText decodes a size as ParseSize does.
func (n *Size) UnmarshalText(text []byte) error {
	v, err := ParseSize(string(text))
	if err != nil {
		return err
	}
	*n = v
	return nil
}
