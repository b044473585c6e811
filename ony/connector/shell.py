"""A small POSIX shell reader: enough of the grammar to see every command a line runs.

The classifier must see what the shell would run, not what the text looks
like: ``echo ok && rm -rf build`` runs ``rm``; ``git commit -m "$(cat x)"``
also runs ``cat``; ``sh <<EOF ... EOF`` runs the here-document. ``parse``
splits a command line into simple commands (argument words, redirections,
whether stdin comes from a pipe, a here-document body) and collects the text
of every command substitution and process substitution, which the classifier
reads in turn.

It is not a shell: it does no expansion. Text it cannot read the way a shell
would (an unterminated quote or substitution) raises ``ShellSyntaxError``,
which the classifier treats as hiding what runs.
"""

from __future__ import annotations

import re

_OPERATORS = ("&&", "||", ";;", "|&", ";", "&", "|", "(", ")")
_REDIRECT = re.compile(r"<<<|<<-|<<|>>|>\||>&|<&|<>|>|<")
_HEREDOC_START = re.compile(r"<<-?[ \t]*(['\"]?)([A-Za-z0-9_.-]+)\1")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\+?=")


class ShellSyntaxError(ValueError):
    """The text does not read as complete shell."""


class Command:
    """One simple command: its words, redirections and where its stdin comes from."""

    def __init__(self, piped_into: bool = False) -> None:
        self.argv: list[str] = []
        self.redirects: list[tuple[str, str]] = []
        self.piped_into = piped_into
        self.heredoc: str | None = None
        self.assignments: list[str] = []

    def __repr__(self) -> str:
        return f"Command({self.argv!r}, redirects={self.redirects!r})"


class Script:
    def __init__(self) -> None:
        self.commands: list[Command] = []
        #: The text of each ``$(...)``, `` `...` ``, ``<(...)`` and ``>(...)``.
        self.substitutions: list[str] = []
        self.process_substitution = False


def _skip_quoted(text: str, i: int) -> int:
    """Index just past the quoted string starting at ``text[i]`` (' or ")."""
    quote = text[i]
    i += 1
    while i < len(text):
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    raise ShellSyntaxError("unterminated quote")


def _skip_heredoc_bodies(text: str, i: int, delimiters: list[str]) -> int:
    """Index just past the here-document bodies that start at ``text[i]``."""
    for delimiter in delimiters:
        while i < len(text):
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            line, i = text[i:end], end + 1
            if line.lstrip("\t") == delimiter:
                break
    return i


def _matching_paren(text: str, i: int) -> int:
    """Index of the ``)`` closing the ``(`` at ``text[i]``, skipping quotes and here-documents."""
    depth = 0
    heredocs: list[str] = []
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch in "'\"":
            i = _skip_quoted(text, i)
            continue
        if ch == "<" and (match := _HEREDOC_START.match(text, i)):
            heredocs.append(match.group(2))
            i = match.end()
            continue
        if ch == "\n" and heredocs:
            i = _skip_heredoc_bodies(text, i + 1, heredocs)
            heredocs = []
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ShellSyntaxError("unterminated substitution")


def _closing_backtick(text: str, i: int) -> int:
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == "`":
            return j
        j += 1
    raise ShellSyntaxError("unterminated backquote")


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.script = Script()
        self.command = Command()
        self.word: list[str] | None = None
        self.redirect: str | None = None
        self.heredocs: list[tuple[str, bool, Command]] = []

    # words and commands

    def add(self, text: str) -> None:
        if self.word is None:
            self.word = []
        self.word.append(text)

    def end_word(self) -> None:
        if self.word is None:
            return
        word = "".join(self.word)
        self.word = None
        if self.redirect is not None:
            op, self.redirect = self.redirect, None
            if op in ("<<", "<<-"):
                self.heredocs.append((word, op == "<<-", self.command))
            elif op == "<<<":  # a here-string: the word is stdin
                self.command.heredoc = word
            else:
                self.command.redirects.append((op, word))
        elif not self.command.argv and _ASSIGNMENT.match(word):
            self.command.assignments.append(word)
        else:
            self.command.argv.append(word)

    def end_command(self, operator: str | None) -> None:
        self.end_word()
        command = self.command
        if command.argv or command.redirects or command.assignments:
            self.script.commands.append(command)
        self.command = Command(piped_into=operator in ("|", "|&"))

    def substitution(self, body: str, *, process: bool = False) -> None:
        self.script.substitutions.append(body)
        self.script.process_substitution |= process

    # the scanner

    def read(self) -> Script:
        i = 0
        while i < len(self.text):
            i = self.read_token(i)
        self.end_word()
        if self.redirect is not None:
            raise ShellSyntaxError("redirection without a target")
        self.end_command(None)
        self.read_heredocs(len(self.text))
        return self.script

    def read_token(self, i: int) -> int:
        """Read what starts at ``i``; the index just past it."""
        ch = self.text[i]
        if ch in " \t":
            self.end_word()
            return i + 1
        if ch == "\n":
            self.end_command(None)
            return self.read_heredocs(i + 1)
        if ch == "#" and self.word is None:
            end = self.text.find("\n", i)
            return len(self.text) if end < 0 else end
        if ch in "\\'\"":
            return self.read_quoting(i)
        if ch in "$`":
            return self.read_expansion(i)
        if ch in "<>&|;()":
            return self.read_operator(i)
        self.add(ch)
        return i + 1

    def read_quoting(self, i: int) -> int:
        """A backslash escape, or a single- or double-quoted string, at ``i``."""
        text = self.text
        if text[i] == "\\":
            if text[i + 1 : i + 2] != "\n":
                self.add(text[i + 1 : i + 2])
            return i + 2
        if text[i] == "'":
            end = _skip_quoted(text, i)
            self.add(text[i + 1 : end - 1])
            return end
        return self.read_double_quoted(i)

    def read_expansion(self, i: int) -> int:
        """``$(...)``, ``${...}``, a backquoted command, or a plain ``$``, at ``i``."""
        text = self.text
        if text[i] == "`":
            end = _closing_backtick(text, i)
            self.substitution(text[i + 1 : end])
            self.add("`...`")
            return end + 1
        nxt = text[i + 1 : i + 2]
        if nxt == "(":
            return self.read_dollar_paren(i)
        if nxt == "{":
            end = text.find("}", i)
            if end < 0:
                raise ShellSyntaxError("unterminated ${")
            self.add(text[i : end + 1])
            return end + 1
        self.add("$")
        return i + 1

    def read_operator(self, i: int) -> int:
        """A process substitution, a redirection or a control operator, at ``i``."""
        text = self.text
        ch, nxt = text[i], text[i + 1 : i + 2]
        if ch in "<>" and nxt == "(":
            end = _matching_paren(text, i + 1)
            self.substitution(text[i + 2 : end], process=True)
            self.add(f"{ch}(...)")
            return end + 1
        if ch in "<>" or (ch == "&" and nxt == ">"):
            return self.read_redirect(i)
        op = next(op for op in _OPERATORS if text.startswith(op, i))  # each of &|;() starts one
        self.end_command(op)
        return i + len(op)

    def read_redirect(self, i: int) -> int:
        """A redirection operator at ``i``; a word of digits just before it is its fd."""
        if self.text[i] == "&":  # &> and &>>: stdout and stderr
            i += 1
        if self.word is not None and "".join(self.word).isdigit():
            self.word = None
        else:
            self.end_word()
        match = _REDIRECT.match(self.text, i)
        assert match is not None  # the caller saw < or >
        self.redirect = match.group(0)
        return match.end()

    def read_double_quoted(self, i: int) -> int:
        text, j, parts = self.text, i + 1, []
        while j < len(text):
            ch = text[j]
            if ch == "\\" and j + 1 < len(text):
                if text[j + 1] != "\n":
                    parts.append(text[j + 1] if text[j + 1] in '$`"\\' else text[j : j + 2])
                j += 2
            elif ch == '"':
                self.add("".join(parts))
                return j + 1
            elif ch == "$" and text[j + 1 : j + 2] == "(" and text[j + 2 : j + 3] != "(":
                end = _matching_paren(text, j + 1)
                self.substitution(text[j + 2 : end])
                parts.append("$(...)")
                j = end + 1
            elif ch == "`":
                end = _closing_backtick(text, j)
                self.substitution(text[j + 1 : end])
                parts.append("`...`")
                j = end + 1
            else:
                parts.append(ch)
                j += 1
        raise ShellSyntaxError("unterminated quote")

    def read_dollar_paren(self, i: int) -> int:
        end = _matching_paren(self.text, i + 1)
        if self.text[i + 2 : i + 3] == "(":  # $(( arithmetic )): runs nothing
            self.add(self.text[i : end + 1])
        else:
            self.substitution(self.text[i + 2 : end])
            self.add("$(...)")
        return end + 1

    def read_heredocs(self, i: int) -> int:
        """Give each pending here-document its body (the lines up to its delimiter)."""
        for delimiter, strip_tabs, command in self.heredocs:
            end = _skip_heredoc_bodies(self.text, i, [delimiter])
            body = self.text[i:end].split("\n")
            if body and (body[-1].lstrip("\t") if strip_tabs else body[-1]) == "":
                body.pop()
            if body and body[-1].lstrip("\t") == delimiter:
                body.pop()
            command.heredoc = "\n".join(body)
            i = end
        self.heredocs = []
        return i


def parse(text: str) -> Script:
    """The simple commands of ``text`` and the text of its substitutions."""
    return _Reader(text).read()
