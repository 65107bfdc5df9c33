package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tacitauth/tacit/flow"
)

// Row constructors. Adding a setting is a field (in flow.Config,
// web.Config or web.Upkeep, with its default there, or in Config for the
// command's own) and a row made by one of these in a settings table.

// withDefaults fills each row's def from defaults.
func withDefaults(rows []setting) []setting {
	for i := range rows {
		rows[i].def = rows[i].get(&defaults)
	}
	return rows
}

// durationSetting is a positive duration, such as 24h or 30m.
func durationSetting(key, about string, field func(*Config) *time.Duration) setting {
	return setting{key: key, about: about,
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("must be a positive duration such as 24h or 30m, got %q", v)
			}
			*field(c) = d
			return nil
		},
		get: func(c *Config) string { return flow.FormatDuration(*field(c)) },
	}
}

// wholeSetting is a whole number from lo to hi; see parseWhole.
func wholeSetting[T int | uint32](key, about string, lo, hi uint64, field func(*Config) *T) setting {
	return setting{key: key, about: about, tag: "!!int",
		set: func(c *Config, v string) error {
			n, err := parseWhole(v, lo, hi)
			if err != nil {
				return err
			}
			*field(c) = T(n)
			return nil
		},
		get: func(c *Config) string { return strconv.FormatUint(uint64(*field(c)), 10) },
	}
}

// boolSetting is true or false.
func boolSetting(key, about string, field func(*Config) *bool) setting {
	return setting{key: key, about: about, tag: "!!bool",
		set: func(c *Config, v string) error {
			switch v {
			case "true", "false":
				*field(c) = v == "true"
				return nil
			}
			return fmt.Errorf("must be true or false, got %q", v)
		},
		get: func(c *Config) string { return strconv.FormatBool(*field(c)) },
	}
}

// choiceSetting is one of choices, written as they are.
func choiceSetting[T ~string](key, about string, field func(*Config) *T, choices ...T) setting {
	names := make([]string, len(choices))
	for i, ch := range choices {
		names[i] = string(ch)
	}
	// "a or b", "a, b or c"
	list := strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	return setting{key: key, about: about,
		set: func(c *Config, v string) error {
			for _, ch := range choices {
				if v == string(ch) {
					*field(c) = ch
					return nil
				}
			}
			return fmt.Errorf("must be %s, got %q", list, v)
		},
		get: func(c *Config) string { return string(*field(c)) },
	}
}

// limitSetting is a throttling rule, in flow.ParseLimit's form. A value
// names only the fields it changes; the others keep the rule's default,
// not the value of a lower layer, so that one setting always means the
// same thing.
func limitSetting(key, about string, field func(*flow.Limits) *flow.Limit) setting {
	def := *field(&defaults.Limits)
	return setting{key: key, about: about,
		set: func(c *Config, v string) error {
			l, err := flow.ParseLimit(v, def)
			if err != nil {
				return err
			}
			*field(&c.Limits) = l
			return nil
		},
		get: func(c *Config) string { return field(&c.Limits).String() },
	}
}
