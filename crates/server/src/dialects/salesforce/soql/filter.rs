//! WHERE: conditions joined by AND or OR (never both without parentheses, as Salesforce
//! requires), NOT, and comparisons of a field with a value or a list. Chains are lists; the parser
//! recurses only into parentheses and `NOT`, counting each level against `Bounds::max_nesting`
//! first, and counts conditions against `Bounds::max_terms` as it reads them.

use super::ast::{Cmp, Cond, Op, Value};
use super::lex::Tok;
use super::parse::{unsupported, Parser};
use super::{SoqlError, MALFORMED_QUERY};

impl Parser<'_> {
    /// `a AND b AND …`, `a OR b OR …`, or one condition. Salesforce requires parentheses to
    /// mix AND and OR, and so does this parser.
    pub(super) fn condition(&mut self, depth: usize) -> Result<Cond, SoqlError> {
        let first = self.unary(depth)?;
        let joiner = if self.at_kw("AND") {
            "AND"
        } else if self.at_kw("OR") {
            "OR"
        } else {
            return Ok(first);
        };
        let mut items = vec![first];
        while self.at_kw(joiner) {
            self.pos += 1;
            items.push(self.unary(depth)?);
        }
        if self.at_kw("AND") || self.at_kw("OR") {
            return Err(self.unexpected());
        }
        Ok(if joiner == "AND" {
            Cond::All(items)
        } else {
            Cond::Any(items)
        })
    }

    /// One level deeper than `depth`, if the bound allows it.
    fn deeper(&self, depth: usize) -> Result<usize, SoqlError> {
        if depth >= self.bounds.max_nesting {
            return Err(SoqlError::new(
                MALFORMED_QUERY,
                format!(
                    "WHERE nests parentheses and NOT at most {} deep (limit query_max_nesting)",
                    self.bounds.max_nesting
                ),
            ));
        }
        Ok(depth + 1)
    }

    fn unary(&mut self, depth: usize) -> Result<Cond, SoqlError> {
        if self.at_kw("NOT") {
            let depth = self.deeper(depth)?;
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.unary(depth)?)));
        }
        if self.at_sym("(") {
            let depth = self.deeper(depth)?;
            self.pos += 1;
            let inner = self.condition(depth)?;
            self.expect_sym(")")?;
            return Ok(inner);
        }
        self.terms += 1;
        if self.terms > self.bounds.max_terms {
            return Err(SoqlError::new(
                MALFORMED_QUERY,
                format!(
                    "WHERE holds at most {} conditions (limit query_max_expression_terms)",
                    self.bounds.max_terms
                ),
            ));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Cond, SoqlError> {
        let field = self.path()?;
        let t = self.next();
        let op = match &t.tok {
            Tok::Sym("=") => Op::Eq,
            Tok::Sym("!=" | "<>") => Op::Ne,
            Tok::Sym("<") => Op::Lt,
            Tok::Sym("<=") => Op::Le,
            Tok::Sym(">") => Op::Gt,
            Tok::Sym(">=") => Op::Ge,
            w if w.is("LIKE") => Op::Like,
            w if w.is("IN") => Op::In,
            w if w.is("NOT") && self.at_kw("IN") => {
                self.pos += 1;
                Op::NotIn
            }
            w if w.is("INCLUDES") || w.is("EXCLUDES") => {
                return Err(self.error_at(t.at, &unsupported("INCLUDES and EXCLUDES")));
            }
            _ => {
                self.pos -= 1;
                return Err(self.unexpected());
            }
        };
        let value_at = self.peek().at;
        let value = if matches!(op, Op::In | Op::NotIn) {
            self.list()?
        } else {
            self.value()?
        };
        Ok(Cond::Cmp(Cmp {
            field,
            op,
            value,
            value_at,
        }))
    }

    fn list(&mut self) -> Result<Value, SoqlError> {
        self.expect_sym("(")?;
        if self.at_kw("SELECT") {
            let at = self.peek().at;
            return Err(self.error_at(at, &unsupported("a semi-join or anti-join subquery")));
        }
        let mut items = Vec::new();
        loop {
            if items.len() == self.bounds.max_in_values {
                return Err(SoqlError::new(
                    MALFORMED_QUERY,
                    format!(
                        "an IN list holds at most {} values (limit max_in_values)",
                        self.bounds.max_in_values
                    ),
                ));
            }
            let at = self.peek().at;
            items.push((self.value()?, at));
            if !self.at_sym(",") {
                break;
            }
            self.pos += 1;
        }
        self.expect_sym(")")?;
        Ok(Value::List(items))
    }

    fn value(&mut self) -> Result<Value, SoqlError> {
        let t = self.next();
        Ok(match t.tok {
            Tok::Str { value, pattern } => Value::Str { value, pattern },
            Tok::Num(n) => Value::Num(n),
            Tok::Date(d) => Value::Date(d),
            Tok::DateTime(d) => Value::DateTime(d),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => Value::Null,
            Tok::Word(w) => {
                if self.at_sym("(") {
                    return Err(self.error_at(t.at, &unsupported(&format!("{w}() in WHERE"))));
                }
                let n = if self.at_sym(":") {
                    self.pos += 1;
                    match self.next().tok {
                        Tok::Num(n) => Some(n),
                        _ => {
                            self.pos -= 1;
                            return Err(self.unexpected());
                        }
                    }
                } else {
                    None
                };
                Value::Relative {
                    name: w.to_ascii_uppercase(),
                    n,
                }
            }
            Tok::Sym(":") => {
                return Err(self.error_at(t.at, &unsupported("a bind variable (:name)")));
            }
            _ => {
                self.pos -= 1;
                return Err(self.unexpected());
            }
        })
    }
}
