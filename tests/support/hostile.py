"""Job-data values that run a command, split, glob or shift the quoting if a shell reads them as code."""

# CANARY stands for an absolute path, one per value: the file exists only if the value ran.
HOSTILE = {
    "spaces": "a  b\tc",
    "star": "*",
    "globs": "?[ab]{c,d}*",
    "backticks": "`touch CANARY`",
    "dollar_paren": "$(touch CANARY)",
    "newline": "x\ntouch CANARY",
    "carriage_return": "x\rtouch CANARY\r",
    "ampersand": "x & touch CANARY",
    "semicolon": "x; touch CANARY",
    "pipe": "x | touch CANARY",
    "find_exec": "nomatch -o -exec touch CANARY {} +",
    "quotes": "it's \"q\" 'r' \\' \\\" end\\",
    "variables": "$HOME ${HOME} $0 $#",
    "heredoc_end": "x\nEOF\ntouch CANARY",
    "comment": "#x it's",
    "tilde": "~",
    "empty": "",
    "assignment": "A=1",
    "arithmetic": "$((1+1))",
}
