//! SOQL's grammar, the subset Bulk API 2.0 query jobs take, into a small tree (`ast`): the SELECT
//! list, FROM, ORDER BY and LIMIT here, WHERE in `filter`. What Bulk API 2.0 refuses (GROUP BY,
//! OFFSET, TYPEOF, aggregate functions, parent-to-child subqueries; Bulk API 2.0 Developer Guide,
//! "Create a Query Job") is refused here by name, as is what this subset leaves out.

use super::ast::{Order, Path, Query};
use super::lex::{Tok, Token};
use super::{malformed, Bounds, SoqlError, MALFORMED_QUERY};

/// Words that end the FROM clause: after `FROM Contact`, one of these is no alias.
const CLAUSES: [&str; 11] = [
    "WHERE", "WITH", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "FOR", "UPDATE", "USING", "ALL",
];

/// Words no field is named by (Salesforce's reserved words, but for `FIRST`, `LAST`, `INCLUDES`
/// and `EXCLUDES`, which sluice's field names may be and which never start a field here).
fn reserved(word: &str) -> bool {
    const RESERVED: [&str; 20] = [
        "AND", "ASC", "BY", "DESC", "FALSE", "FROM", "GROUP", "HAVING", "IN", "LIKE", "LIMIT",
        "NOT", "NULL", "NULLS", "OR", "ORDER", "SELECT", "TRUE", "WHERE", "WITH",
    ];
    RESERVED.iter().any(|r| word.eq_ignore_ascii_case(r))
}

const AGGREGATES: [&str; 6] = ["COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"];

pub fn parse(soql: &str, tokens: &[Token], bounds: &Bounds) -> Result<Query, SoqlError> {
    let mut p = Parser {
        soql,
        tokens,
        pos: 0,
        bounds,
        terms: 0,
    };
    p.query()
}

pub(super) struct Parser<'a> {
    soql: &'a str,
    tokens: &'a [Token],
    pub(super) pos: usize,
    pub(super) bounds: &'a Bounds,
    /// Conditions read so far.
    pub(super) terms: usize,
}

pub(super) fn unsupported(what: &str) -> String {
    format!("{what} is not supported in Bulk API 2.0 queries")
}

impl Parser<'_> {
    pub(super) fn peek(&self) -> &Token {
        // The lexer always ends the tokens with `Eof`, and nothing reads past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    pub(super) fn next(&mut self) -> Token {
        // Past the end it reads `Eof` again; a step back after it is still exact.
        let t = self.peek().clone();
        self.pos += 1;
        t
    }

    pub(super) fn at_kw(&self, kw: &str) -> bool {
        self.peek().tok.is(kw)
    }

    pub(super) fn at_sym(&self, s: &'static str) -> bool {
        self.peek().tok == Tok::Sym(s)
    }

    pub(super) fn error_at(&self, at: usize, text: &str) -> SoqlError {
        malformed(self.soql, at, text)
    }

    /// `unexpected token: 'X'` at the next token, as Salesforce words it.
    pub(super) fn unexpected(&self) -> SoqlError {
        let t = self.peek();
        self.error_at(t.at, &format!("unexpected token: '{}'", t.tok.shown()))
    }

    pub(super) fn expect_kw(&mut self, kw: &str) -> Result<(), SoqlError> {
        if self.at_kw(kw) {
            self.pos += 1;
            return Ok(());
        }
        Err(self.unexpected())
    }

    pub(super) fn expect_sym(&mut self, s: &'static str) -> Result<(), SoqlError> {
        if self.at_sym(s) {
            self.pos += 1;
            return Ok(());
        }
        Err(self.unexpected())
    }

    fn query(&mut self) -> Result<Query, SoqlError> {
        self.expect_kw("SELECT")?;
        let fields = self.field_list()?;
        self.expect_kw("FROM")?;
        let Token {
            tok: Tok::Word(object),
            at: object_at,
        } = self.next()
        else {
            self.pos -= 1;
            return Err(self.unexpected());
        };
        let alias = match &self.peek().tok {
            Tok::Word(w) if !CLAUSES.iter().any(|c| w.eq_ignore_ascii_case(c)) => {
                let w = w.clone();
                self.pos += 1;
                Some(w)
            }
            _ => None,
        };
        if self.at_sym(",") {
            let at = self.peek().at;
            return Err(self.error_at(at, &unsupported("more than one object in FROM")));
        }
        let mut q = Query {
            fields,
            object,
            object_at,
            alias,
            filter: None,
            order: Vec::new(),
            limit: None,
        };
        self.refuse_clause(&["USING"])?;
        if self.at_kw("WHERE") {
            self.pos += 1;
            q.filter = Some(self.condition(0)?);
        }
        self.refuse_clause(&["WITH", "GROUP", "HAVING"])?;
        if self.at_kw("ORDER") {
            self.pos += 1;
            self.expect_kw("BY")?;
            q.order = self.order_list()?;
        }
        if self.at_kw("LIMIT") {
            self.pos += 1;
            q.limit = Some(self.limit()?);
        }
        self.refuse_clause(&["OFFSET", "FOR", "UPDATE", "ALL"])?;
        if self.peek().tok != Tok::Eof {
            return Err(self.unexpected());
        }
        Ok(q)
    }

    /// Refuses, by name, a clause this subset does not take, if one of `words` comes next.
    fn refuse_clause(&self, words: &[&str]) -> Result<(), SoqlError> {
        let t = self.peek();
        let Some(word) = words.iter().find(|w| t.tok.is(w)) else {
            return Ok(());
        };
        let what = match *word {
            "USING" => "USING SCOPE",
            "GROUP" => "GROUP BY",
            "FOR" => "FOR VIEW, FOR REFERENCE and FOR UPDATE",
            "UPDATE" => "UPDATE TRACKING and UPDATE VIEWSTAT",
            "ALL" => "ALL ROWS",
            other => other,
        };
        Err(self.error_at(t.at, &unsupported(what)))
    }

    fn field_list(&mut self) -> Result<Vec<Path>, SoqlError> {
        let mut fields = Vec::new();
        loop {
            let t = self.peek().clone();
            if t.tok == Tok::Sym("(") {
                return Err(self.error_at(
                    t.at,
                    &unsupported("a nested query (a parent-to-child relationship)"),
                ));
            }
            if t.tok.is("TYPEOF") {
                return Err(self.error_at(t.at, &unsupported("TYPEOF")));
            }
            if fields.len() == self.bounds.max_fields {
                return Err(SoqlError::new(
                    MALFORMED_QUERY,
                    format!(
                        "a query selects at most {} fields (limit query_max_result_columns)",
                        self.bounds.max_fields
                    ),
                ));
            }
            fields.push(self.path()?);
            if !self.at_sym(",") {
                return Ok(fields);
            }
            self.pos += 1;
        }
    }

    /// A field path; a function call in its place is refused by name.
    pub(super) fn path(&mut self) -> Result<Path, SoqlError> {
        let start = self.peek().at;
        let mut parts = Vec::new();
        loop {
            match self.next().tok {
                Tok::Word(w) if !(parts.is_empty() && !self.at_sym(".") && reserved(&w)) => {
                    parts.push(w)
                }
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected());
                }
            }
            if !self.at_sym(".") {
                break;
            }
            self.pos += 1;
        }
        if self.at_sym("(") {
            let name = parts.join(".").to_ascii_uppercase();
            let what = if AGGREGATES.contains(&name.as_str()) {
                "an aggregate function such as COUNT()".to_owned()
            } else {
                format!("the function {name}()")
            };
            return Err(self.error_at(start, &unsupported(&what)));
        }
        Ok(Path { parts, at: start })
    }

    fn order_list(&mut self) -> Result<Vec<Order>, SoqlError> {
        let mut order = Vec::new();
        loop {
            if order.len() == self.bounds.max_sort_terms {
                return Err(SoqlError::new(
                    MALFORMED_QUERY,
                    format!(
                        "ORDER BY lists at most {} fields (limit max_sort_terms)",
                        self.bounds.max_sort_terms
                    ),
                ));
            }
            let field = self.path()?;
            let desc = if self.at_kw("DESC") {
                self.pos += 1;
                true
            } else {
                if self.at_kw("ASC") {
                    self.pos += 1;
                }
                false
            };
            let mut nulls_first = !desc;
            if self.at_kw("NULLS") {
                self.pos += 1;
                nulls_first = if self.at_kw("FIRST") {
                    true
                } else if self.at_kw("LAST") {
                    false
                } else {
                    return Err(self.unexpected());
                };
                self.pos += 1;
            }
            order.push(Order {
                field,
                desc,
                nulls_first,
            });
            if !self.at_sym(",") {
                return Ok(order);
            }
            self.pos += 1;
        }
    }

    fn limit(&mut self) -> Result<u64, SoqlError> {
        let t = self.next();
        match &t.tok {
            // Salesforce's LIMIT is a 32-bit integer.
            Tok::Num(n) => n
                .parse::<u64>()
                .ok()
                .filter(|n| i32::try_from(*n).is_ok())
                .ok_or_else(|| self.error_at(t.at, &format!("numeric value out of range: {n}"))),
            _ => {
                self.pos -= 1;
                Err(self.unexpected())
            }
        }
    }
}
