package config

import (
	"slices"
	"strings"
)

// ConfigEnv is the environment variable cmd/feedd may read for the config file path. Load
// ignores it rather than report it as unknown.
const ConfigEnv = envPrefix + "CONFIG"

// ReplicaIDEnv is the environment variable that names a replica in cluster mode (cmd/feedd
// reads it). Load ignores it rather than report it as unknown.
const ReplicaIDEnv = envPrefix + "REPLICA_ID"

// applyEnv applies the FEEDD_* variables of environ to cfg. Every scalar key in configFields has
// a variable (see envName); a variable set to "" sets the key to "" (FEEDD_NATS_URL= selects the
// embedded server, FEEDD_HTTP_LISTEN= disables the ops listener), an absent one changes nothing.
// Feeds cannot be set from the environment. Any other FEEDD_* variable is a problem, so that a
// misspelt one does not go unnoticed.
func applyEnv(cfg *Config, environ []string) Problems {
	values := make(map[string]string)
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(name, envPrefix) {
			values[name] = value // the last setting wins
		}
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)

	byEnv := make(map[string]field[Config], len(configFields))
	known := make([]string, 0, len(configFields))
	for _, f := range configFields {
		byEnv[envName(f.key)] = f
		known = append(known, envName(f.key))
	}
	var ps Problems
	for _, name := range names {
		value := values[name]
		f, ok := byEnv[name]
		switch {
		case ok:
			if err := f.set(cfg, value); err != nil {
				ps.add(name, value, err.Error())
			}
		case name == ConfigEnv, name == ReplicaIDEnv:
		case name == envName(feedsKey) || strings.HasPrefix(name, envName(feedsKey)+"_"):
			ps.add(name, "", "feeds cannot be set from the environment; list them in the config file")
		default:
			ps.add(name, "", "unknown variable"+suggest(name, known))
		}
	}
	return ps
}
