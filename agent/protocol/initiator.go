package protocol

// initReady is handle_confirm: a confirm addressed to us starts a cycle. Our
// side of the key exchange is a fresh ephemeral X25519 key, sent as kx_pub
// in the hs of our first request.
func (m Machine) initReady(res *Result, msg Msg, env Env) error {
	if msg.Intent != IntentConfirm || msg.Broadcast() {
		res.ignore(ReasonWrongState)
		return nil
	}
	if msg.MyNonce == "" {
		res.ignore(ReasonMissingField)
		return nil
	}
	return m.acceptConfirm(res, msg, env)
}

// acceptConfirm starts a cycle on a confirm.
func (m Machine) acceptConfirm(res *Result, msg Msg, env Env) error {
	// Our key is drawn only after the confirm's hs passed every check.
	lazy := &LazyKey{New: env.NewEphemeral}
	s, binds, ok := m.verifyHS(res, msg, "response", lazy, env)
	if !ok {
		return nil
	}
	kx, err := lazy.Get()
	if err != nil {
		return err
	}
	res.Row.wipe()
	res.Row.PeerNonce = msg.MyNonce
	res.Mem.endCycle()
	res.Mem.Ephemeral = kx
	res.Mem.HSOnRequest = true
	res.Mem.CycleStart = env.Now()
	res.Mem.PeerBinds = binds
	if s != nil {
		m.adoptSession(res, s, env, transition(StateInitReady, StateInitExchange))
	}
	res.RecordReceived = msg.MyNonce
	res.note("peer_nonce set", "transition", transition(StateInitReady, StateInitExchange), "peer_nonce", msg.MyNonce)
	m.accept(res, StateInitExchange, env)
	return nil
}

// restartOnConfirm handles a confirm that arrives mid-cycle. The reference
// ignores it, leaving both sides waiting until something times out. A
// confirm whose nonce we have not seen this cycle means the responder gave
// our cycle up (timeout or restart) and started a new one, so we follow it
// at once. Re-sends of the confirm that started this cycle carry a nonce
// we logged, and stay ignored.
func (m Machine) restartOnConfirm(res *Result, msg Msg, env Env) (handled bool, err error) {
	if msg.Intent != IntentConfirm || msg.Broadcast() || msg.MyNonce == "" {
		return false, nil
	}
	seen, err := env.ReceivedBefore(msg.MyNonce)
	if err != nil {
		return true, err
	}
	if seen {
		res.ignore(ReasonReplay)
		return true, nil
	}
	from := res.Row.State
	if err := m.acceptConfirm(res, msg, env); err != nil || res.Ignored != "" {
		return true, err
	}
	res.DeletePairNonces = true // the abandoned cycle's log
	res.Restart = RestartPeerConfirm
	res.note("peer restarted the cycle", "from_state", from)
	return true, nil
}

// initExchange is handle_respond: the ping-pong, cut to finalize once the
// exchange count passes the limit.
func (m Machine) initExchange(res *Result, msg Msg, env Env) error {
	if handled, err := m.restartOnConfirm(res, msg, env); handled {
		return err
	}
	if msg.Intent != IntentRespond || msg.Broadcast() {
		res.ignore(ReasonWrongState)
		return nil
	}
	if msg.YourNonce == "" || msg.MyNonce == "" {
		res.ignore(ReasonMissingField)
		return nil
	}
	echoes := res.Row.LocalNonce == msg.YourNonce
	if !echoes {
		sent, err := env.SentBefore(msg.YourNonce)
		if err != nil {
			return err
		}
		if !sent {
			res.ignore(ReasonEchoMismatch)
			return nil
		}
	}
	seen, err := env.ReceivedBefore(msg.MyNonce)
	if err != nil {
		return err
	}
	if !echoes || seen {
		// It answers us but cannot move the exchange on; a timeout's
		// conclude will echo its nonce (§6.1).
		m.noteRespond(res, msg, env)
		switch {
		case res.Ignored != "": // sec refused
		case echoes:
			res.ignore(ReasonReplay)
		default:
			res.ignore(ReasonEchoMismatch)
		}
		return nil
	}
	if !m.checkSec(res, msg, res.Mem.Session, env) {
		return nil
	}
	res.Row.PeerNonce = msg.MyNonce
	res.Mem.LatestRespondNonce = msg.MyNonce
	res.Row.LocalNonce = ""
	res.RecordReceived = msg.MyNonce
	res.Mem.HSOnRequest = false
	res.note("GOT RESPONSE", "transition", transition(StateInitExchange, StateInitPropose), "exchange_count", res.Row.ExchangeCount)
	if res.Row.ExchangeCount > m.limit() {
		res.note("EXCHANGE CUT", "exchange_count", res.Row.ExchangeCount)
		m.accept(res, StateInitPropose, env)
		return nil
	}
	m.accept(res, StateInitExchange, env)
	return nil
}

// initPropose is handle_finish, plus the §6.1 recovery: a respond that
// echoes any nonce we sent this cycle updates the nonce that conclude
// echoes, so a responder that rotated its nonce late still gets a conclude
// it accepts.
func (m Machine) initPropose(res *Result, msg Msg, env Env) error {
	if handled, err := m.restartOnConfirm(res, msg, env); handled {
		return err
	}
	if msg.Broadcast() {
		res.ignore(ReasonWrongState)
		return nil
	}
	switch msg.Intent {
	case IntentFinish:
		if msg.YourRef == "" || msg.MyRef == "" || msg.YourRef != res.Row.LocalRef {
			res.ignore(ReasonRefMismatch)
			return nil
		}
		if !checkMAC(res, msg, res.Mem.bindingKey()) {
			return nil
		}
		m.finishAccepted(res, msg, env)
		return nil
	case IntentRespond:
		return m.adoptLateRespond(res, msg, env)
	}
	res.ignore(ReasonWrongState)
	return nil
}

// finishAccepted counts the initiator's cycle and takes the fast path: send
// close, go straight to init_ready and send reconnect at once. The responder
// gets them in order through the relay; its confirm acknowledges both. Close
// is repeated on the retry timer in init_ready until confirm arrives, so a
// lost close costs a retry, not the cycle.
func (m Machine) finishAccepted(res *Result, msg Msg, env Env) {
	res.Row.PeerRef = msg.MyRef
	res.Row.LocalNonce, res.Row.PeerNonce = "", ""
	res.Row.ExchangeCount, res.Row.FinalizeRetryCount = 0, 0
	res.DeletePairNonces = true
	res.CycleDone = true
	res.Verified = res.Mem.verifiedCycle()
	res.note("CLOSE", "transition", transition(StateInitPropose, StateInitClose), "verified", res.Verified)
	res.Mem.endCycle()
	m.accept(res, StateInitReady, env)
}

// noteRespond remembers the my_nonce of a respond that echoes a nonce we
// sent but is not accepted, once its sec (if the policy wants one) checks
// out; the row stays as it is.
func (m Machine) noteRespond(res *Result, msg Msg, env Env) {
	row := res.Row
	if !m.checkSec(res, msg, res.Mem.Session, env) {
		res.Row = row
		return
	}
	res.Row = row
	res.Mem.LatestRespondNonce = msg.MyNonce
	res.KeepMem = true
}

// inheritedRespond reports whether msg answers the request a previous
// process had out when it stopped (Mem.InheritedRequest), from a legacy
// peer, while this process has no session key. Its sec was sealed under
// the lost key and cannot be opened; the nonce it carries is all a
// conclude needs, and a conclude carries no crypto. Without this, a
// Python responder whose respond crossed our restart waits in
// resp_exchange forever (docs/protocol.md §6.1, the lost respond). A
// forged one only makes one conclude echo a nonce the responder ignores;
// its genuine re-send (every second) is adopted next.
func inheritedRespond(mem Mem, msg Msg, env Env) bool {
	return mem.InheritedRequest != "" && msg.YourNonce == mem.InheritedRequest &&
		mem.Session == nil && !env.RequiresBind()
}

func (m Machine) adoptLateRespond(res *Result, msg Msg, env Env) error {
	if msg.YourNonce == "" || msg.MyNonce == "" {
		res.ignore(ReasonMissingField)
		return nil
	}
	// No replay check: the echo proves the respond answers this cycle,
	// and a responder with a stale nonce repeats one we already saw.
	inherited := inheritedRespond(res.Mem, msg, env)
	sent := inherited
	if !sent {
		var err error
		if sent, err = env.SentBefore(msg.YourNonce); err != nil {
			return err
		}
	}
	if !sent {
		res.ignore(ReasonEchoMismatch)
		return nil
	}
	if msg.MyNonce == res.Row.PeerNonce {
		res.ignore(ReasonReplay) // the conclude we repeat already echoes it
		return nil
	}
	if inherited {
		res.note("respond to the request a previous process sent; its sec needs the lost key", "peer_nonce", msg.MyNonce)
	} else if !m.checkSec(res, msg, res.Mem.Session, env) {
		return nil
	}
	seen, err := env.ReceivedBefore(msg.MyNonce)
	if err != nil {
		return err
	}
	res.Row.PeerNonce = msg.MyNonce
	if !seen {
		res.RecordReceived = msg.MyNonce
	}
	res.note("late respond adopted", "peer_nonce", msg.MyNonce)
	m.accept(res, StateInitPropose, env)
	return nil
}

// initClose is finish_to_idle. We never rest in init_finalize_close (the
// fast path skips it), but a row left there by an older run still recovers:
// any message from the peer moves it on once the closes are used up.
func (m Machine) initClose(res *Result, _ Msg, env Env) {
	if res.Row.FinalizeRetryCount > InitFinalLimit {
		m.closeToReady(res, env)
		return
	}
	res.ignore(ReasonWrongState)
}

// closeToReady leaves init_finalize_close for init_ready keeping both
// references, so reconnect can resume the pair. The close count is kept
// too: the closes are used up and must not start again.
func (m Machine) closeToReady(res *Result, env Env) {
	res.Row.LocalNonce, res.Row.PeerNonce = "", ""
	res.Row.ExchangeCount = 0
	m.accept(res, StateInitReady, env)
}
