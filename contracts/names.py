"""Workflow types and the signals other workflows' activities send, by the names histories record.

Activities start and signal workflows by these names: `activities` may not import `workflows`
(whose modules import activities for their local activity calls), and a test checks that each
workflow class declares exactly these names.
"""

from __future__ import annotations

MATCH_REQUEST_WORKFLOW = "MatchRequestWorkflow"
MATCHMAKER_WORKFLOW = "MatchmakerWorkflow"
SESSION_WORKFLOW = "SessionWorkflow"

# Signal on a matchmaker: a request joins its pool (sent with the start that creates it).
ADD_REQUEST = "add_request"
# Signal on a match request: this session claimed you.
MATCHED = "matched"
# Signal on a session: its people now sit in other sessions.
REARRANGED = "rearranged"
