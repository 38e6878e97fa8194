//! A query's shape, bounded before it is parsed (pure): the parser builds chains such as
//! `a OR b OR …` or `SELECT … UNION SELECT …` into trees as deep as the chain is long, and every
//! later walk of the tree (the checks, the rewrite, rendering, even dropping it) recurses that deep.
//! One scan of the tokens, without recursion, measures an upper bound of that depth first.

use crate::error::{Error, ErrorCode, Result};
use crate::settings::QueryLimits;
use sqlparser::dialect::Dialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};

/// A refusal naming the limit (as `GET /v1/limits` and the settings name it).
pub fn over(limit: &str, what: String) -> Error {
    Error::new(
        ErrorCode::LimitExceeded,
        format!("{what} (limit {limit}); simplify the query"),
    )
    .with_field("sql")
}

/// What the scan measured.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// Deepest nesting of parentheses, brackets and braces.
    pub nesting: usize,
    /// `UNION`, `INTERSECT`, `EXCEPT` and `MINUS` terms beyond the first, in the whole query.
    pub compound_terms: usize,
    /// The most tokens on any path from the top into the deepest parenthesis, counting at each
    /// level only the tokens since its last comma: a bound on the depth of any expression tree.
    pub expression_terms: usize,
}

/// Measures `sql` in `dialect`'s tokens.
pub fn measure(sql: &str, dialect: &dyn Dialect) -> Result<Shape> {
    let tokens = Tokenizer::new(dialect, sql).tokenize().map_err(|e| {
        Error::invalid(format!("the query could not be parsed: {e}")).with_field("sql")
    })?;
    let mut shape = Shape::default();
    // Tokens since the last comma, per open parenthesis (the first entry is the top level).
    let mut runs: Vec<usize> = vec![0];
    let mut total = 0usize;
    for token in &tokens {
        match token {
            Token::Whitespace(_) | Token::EOF => continue,
            // Brackets and braces hold lists too (`ARRAY[1, 2]`): a comma inside one must not end
            // the run of the expression around it.
            Token::LParen | Token::LBracket | Token::LBrace => {
                runs.push(0);
                shape.nesting = shape.nesting.max(runs.len() - 1);
                continue;
            }
            Token::RParen | Token::RBracket | Token::RBrace => {
                if runs.len() > 1 {
                    total -= runs.pop().unwrap_or(0);
                }
                continue;
            }
            Token::Comma => {
                if let Some(run) = runs.last_mut() {
                    total -= *run;
                    *run = 0;
                }
                continue;
            }
            Token::Word(w)
                if matches!(
                    w.keyword,
                    Keyword::UNION | Keyword::INTERSECT | Keyword::EXCEPT | Keyword::MINUS
                ) =>
            {
                shape.compound_terms += 1;
            }
            _ => {}
        }
        if let Some(run) = runs.last_mut() {
            *run += 1;
            total += 1;
        }
        shape.expression_terms = shape.expression_terms.max(total + runs.len());
    }
    Ok(shape)
}

/// Refuses `sql` when its shape is past `limits`, before any tree is built from it.
pub fn check(sql: &str, dialect: &dyn Dialect, limits: &QueryLimits) -> Result<()> {
    let shape = measure(sql, dialect)?;
    if shape.nesting > limits.max_nesting {
        return Err(over(
            "query_max_nesting",
            format!(
                "the query nests parentheses {} deep; at most {} are allowed",
                shape.nesting, limits.max_nesting
            ),
        ));
    }
    if shape.compound_terms >= limits.max_compound_terms {
        return Err(over(
            "query_max_compound_terms",
            format!(
                "the query joins {} SELECTs with UNION, INTERSECT or EXCEPT; at most {} are allowed",
                shape.compound_terms + 1,
                limits.max_compound_terms
            ),
        ));
    }
    if shape.expression_terms > limits.max_expression_terms {
        return Err(over(
            "query_max_expression_terms",
            format!(
                "an expression of the query is {} terms long; at most {} are allowed",
                shape.expression_terms, limits.max_expression_terms
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::GenericDialect;

    fn shape(sql: &str) -> Shape {
        measure(sql, &GenericDialect {}).unwrap()
    }

    #[test]
    fn chains_count_their_terms_and_lists_do_not() {
        let or_chain = format!("SELECT 1 WHERE {}", vec!["a = 1"; 100].join(" OR "));
        assert!(shape(&or_chain).expression_terms > 100 * 4);
        let columns = format!("SELECT {} FROM t", vec!["a + 1"; 500].join(", "));
        assert!(shape(&columns).expression_terms < 10);
        let in_list = format!(
            "SELECT 1 FROM t WHERE a IN ({})",
            vec!["1"; 1000].join(", ")
        );
        assert!(shape(&in_list).expression_terms < 20);
    }

    #[test]
    fn compound_terms_and_nesting_are_counted() {
        let union = ["SELECT 1, 2"; 10].join(" UNION ALL ");
        assert_eq!(shape(&union).compound_terms, 9);
        let nested = format!("SELECT {}1{}", "(".repeat(30), ")".repeat(30));
        assert_eq!(shape(&nested).nesting, 30);
        // Deep nesting adds up the runs of every level it passes through.
        let deep = format!("SELECT {}1{}", "1 + (".repeat(30), ")".repeat(30));
        assert!(shape(&deep).expression_terms >= 60);
    }

    #[test]
    fn commas_inside_brackets_and_minus_do_not_escape_the_count() {
        let arrays = format!("SELECT 1 WHERE {}", vec!["[1, 1]"; 100].join(" OR "));
        assert!(shape(&arrays).expression_terms > 100);
        let minus = ["SELECT 1, 1"; 10].join(" MINUS ");
        assert_eq!(shape(&minus).compound_terms, 9);
    }

    #[test]
    fn unbalanced_parentheses_do_not_underflow() {
        assert_eq!(shape("SELECT 1))) , (").nesting, 1);
    }
}
