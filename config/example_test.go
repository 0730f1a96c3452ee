package config_test

import (
	"errors"
	"fmt"

	"github.com/feedd/feedd/config"
)

func ExampleLoad() {
	environ := []string{
		"FEEDD_NATS_URL=",    // empty: run the embedded server
		"FEEDD_HTTP_LISTEN=", // empty: no ops listener
		"FEEDD_POLL_INTERVAL=ten",
		"FEEDD_POLL_INTERVALL=5m",
	}
	_, err := config.Load("", environ)
	var problems *config.Problems
	if errors.As(err, &problems) {
		for _, p := range *problems {
			fmt.Println(p)
		}
	}
	// Output:
	// FEEDD_POLL_INTERVAL: "ten": invalid duration
	// FEEDD_POLL_INTERVALL: unknown variable (did you mean FEEDD_POLL_INTERVAL?)
}

func ExampleParseSize() {
	n, err := config.ParseSize("4 MiB")
	fmt.Println(int64(n), n, err)
	// Output: 4194304 4MiB <nil>
}

func ExampleSettings() {
	for _, s := range config.Settings()[:3] {
		fmt.Printf("%s (%s) default %q\n", s.Key, s.Env, s.Default)
	}
	// Output:
	// data_dir (FEEDD_DATA_DIR) default "./feedd-data"
	// shutdown_timeout (FEEDD_SHUTDOWN_TIMEOUT) default "10s"
	// log.level (FEEDD_LOG_LEVEL) default "info"
}
