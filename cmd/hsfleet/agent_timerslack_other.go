//go:build !linux

package main

// applyAgentTimerSlack does nothing off Linux: PR_SET_TIMERSLACK is
// Linux's (agent_timerslack_linux.go).
func applyAgentTimerSlack(func(string) string) {}
