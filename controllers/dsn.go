package controllers

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// errDatabaseDSNUnsupported: the operator and the agents only speak
// PostgreSQL URLs; a sqlite: path in a Secret would give every pod its own
// private file, and key=value DSNs are not parsed for redaction.
var errDatabaseDSNUnsupported = errors.New("database Secret \"dsn\" must be a postgres:// or postgresql:// URL")

// validateDSN accepts only PostgreSQL URLs. The error never quotes the DSN.
func validateDSN(dsn string) error {
	scheme, _, ok := strings.Cut(dsn, "://")
	if !ok {
		return fmt.Errorf("%w (got no URL scheme)", errDatabaseDSNUnsupported)
	}
	// Case-sensitive, exactly as agent/store.Open (the agents' and the
	// operator's opener) matches it.
	switch scheme {
	case "postgres", "postgresql":
	default:
		if len(scheme) > 16 || strings.ContainsAny(scheme, "@:/ ") {
			scheme = "?"
		}
		return fmt.Errorf("%w (got scheme %q)", errDatabaseDSNUnsupported, scheme)
	}
	if _, err := url.Parse(dsn); err != nil {
		// url.Error quotes the whole DSN, password included: drop it.
		return fmt.Errorf("%w (not a valid URL)", errDatabaseDSNUnsupported)
	}
	return nil
}

const redacted = "<redacted>"

var (
	// scheme://user:password@ or scheme://user@ anywhere in a message.
	urlUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#@\s"']*@`)
	// password=... as a URL query parameter or a key=value DSN field.
	passwordParam = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|"[^"]*"|[^\s&"']+)`)
)

// redactDSN keeps a DSN's credentials out of text that ends up in status
// conditions, events and logs. The driver may quote the DSN in whatever
// form it holds it (store.Open rewrites the query, lib/pq and url.Error
// quote it, escaped or not), so besides the DSN itself the password is
// removed in its raw, decoded and escaped forms, and so is any URL
// userinfo or password= field.
func redactDSN(msg, dsn string) string {
	if dsn != "" {
		msg = strings.ReplaceAll(msg, dsn, "<dsn>")
		if u, err := url.Parse(dsn); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok && pw != "" {
				for _, form := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw), url.UserPassword("", pw).String()[1:]} {
					if form != "" {
						msg = strings.ReplaceAll(msg, form, redacted)
					}
				}
			}
		}
	}
	msg = urlUserinfo.ReplaceAllString(msg, "${1}"+redacted+"@")
	return passwordParam.ReplaceAllString(msg, "${1}"+redacted)
}
