package protocol

// Role is one side of a conversation; the values match role_state.role.
type Role string

const (
	Initiator Role = "initiator"
	Responder Role = "responder"
)

// State is a conversation state, exactly as the reference stores it in
// role_state.state. The store keeps TEXT; the runner converts once, and
// a loaded row whose state is not Valid for its role is reset (resume).
type State string

// The states of both roles.
const (
	StateInitReady    State = "init_ready"
	StateInitExchange State = "init_exchange"
	StateInitPropose  State = "init_finalize_propose"
	StateInitClose    State = "init_finalize_close"

	StateRespReady    State = "resp_ready"
	StateRespConfirm  State = "resp_confirm"
	StateRespExchange State = "resp_exchange"
	StateRespFinalize State = "resp_finalize"
)

// Intent is a message's intent (spec §3.4).
type Intent string

// Intents of the message catalogue.
const (
	IntentRegister  Intent = "register"
	IntentReconnect Intent = "reconnect"
	IntentConfirm   Intent = "confirm"
	IntentRequest   Intent = "request"
	IntentRespond   Intent = "respond"
	IntentConclude  Intent = "conclude"
	IntentFinish    Intent = "finish"
	IntentClose     Intent = "close"
)

// Fixed message texts of the reference agents.
const (
	InitiatorText = "How are you?"
	ResponderText = "I am OK!"
)

// Counter limits of spec §3.6.
const (
	DefaultExchangeLimit = 3 // EXCHANGE_LIMIT
	InitFinalLimit       = 3 // INIT_FINAL_LIMIT: closes are sent while the retry count is at most this
	RespFinalLimit       = 5 // RESP_FINAL_LIMIT: unrelated messages tolerated in resp_finalize
	// RespMaxExchanges caps the requests a responder accepts in one cycle
	// (not in the reference). An honest initiator cuts once its count,
	// re-sends included, passes the exchange limit; 16 leaves room for
	// loss and for a peer with a higher limit.
	RespMaxExchanges = 16
	// StrangerMaxExchanges is the cap for a peer that never completed a
	// cycle with us: twice the exchange limit, so a keyless slot hog
	// gives its slot up in a few hundred milliseconds.
	StrangerMaxExchanges = 2 * DefaultExchangeLimit
)

// Valid reports whether s is one of the eight states.
func (s State) Valid() bool { return RoleOfState(s) != "" }

// ValidFor reports whether s is a state of role r.
func (s State) ValidFor(r Role) bool { return RoleOfState(s) == r }

// Valid reports whether i is an intent of the catalogue.
func (i Intent) Valid() bool {
	switch i {
	case IntentRegister, IntentReconnect, IntentConfirm, IntentRequest, IntentRespond,
		IntentConclude, IntentFinish, IntentClose:
		return true
	}
	return false
}

// transition names a state change in the reference's log lines.
func transition(from, to State) string { return string(from) + " -> " + string(to) }

// DefaultState is the state a new row starts in.
func DefaultState(r Role) State {
	if r == Initiator {
		return StateInitReady
	}
	return StateRespReady
}

// RoleFor tells which of our roles handles an inbound intent. register goes
// to the responder (it starts a cycle there); unknown intents go nowhere.
func RoleFor(intent Intent) (Role, bool) {
	switch intent {
	case IntentRegister, IntentReconnect, IntentRequest, IntentConclude, IntentClose:
		return Responder, true
	case IntentConfirm, IntentRespond, IntentFinish:
		return Initiator, true
	}
	return "", false
}

// RoleOfState is the role a state belongs to ("" for an unknown state).
func RoleOfState(state State) Role {
	switch state {
	case StateInitReady, StateInitExchange, StateInitPropose, StateInitClose:
		return Initiator
	case StateRespReady, StateRespConfirm, StateRespExchange, StateRespFinalize:
		return Responder
	}
	return ""
}

// Ready reports whether s is a role's ready state (no cycle running).
func (s State) Ready() bool {
	return s == StateInitReady || s == StateRespReady
}
