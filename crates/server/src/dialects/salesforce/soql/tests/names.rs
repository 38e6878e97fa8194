//! Names: objects and fields in any case, `Id` and Salesforce's system fields, parents through
//! relation fields, and Salesforce's refusals of unknown ones.

use super::translate;
use super::{app, now, ok, postgres, refused, sqlite};

#[test]
fn objects_by_name_in_any_case_or_by_label() {
    assert_eq!(ok("SELECT Id FROM contact").object, "Contact");
    assert_eq!(ok("SELECT Id FROM ACCOUNT").object, "Account");
    assert_eq!(ok("SELECT Id FROM customers").object, "Account");
    let e = refused("SELECT Id FROM Foo__c");
    assert_eq!(e.code, "INVALID_TYPE");
    assert_eq!(
        e.message,
        "\nSELECT Id FROM Foo__c\n               ^\nERROR at Row:1:Column:16\nsObject type 'Foo__c' is \
         not supported. If you are attempting to use a custom object, be sure to append the '__c' \
         after the entity name. Please reference your WSDL or the describe call for the \
         appropriate names."
    );
}

#[test]
fn fields_in_any_case_and_the_system_fields() {
    let t = ok(
        "SELECT ID, lastname, CreatedDate, LastModifiedDate, SystemModstamp, CreatedById, \
                LastModifiedById, created_at FROM Contact",
    );
    assert_eq!(
        t.sql,
        "SELECT \"t0\".\"id\" AS \"ID\", \"t0\".\"LastName\" AS \"lastname\", \
         \"t0\".\"created_at\" AS \"CreatedDate\", \"t0\".\"updated_at\" AS \"LastModifiedDate\", \
         \"t0\".\"updated_at\" AS \"SystemModstamp\", \"t0\".\"created_by\" AS \"CreatedById\", \
         \"t0\".\"updated_by\" AS \"LastModifiedById\", \"t0\".\"created_at\" AS \"created_at\" \
         FROM \"Contact\" AS \"t0\"",
        "{}",
        t.sql
    );
    assert_eq!(
        t.headers,
        [
            "ID",
            "lastname",
            "CreatedDate",
            "LastModifiedDate",
            "SystemModstamp",
            "CreatedById",
            "LastModifiedById",
            "created_at"
        ]
    );
    let e = refused("SELECT Id, Nickname FROM Contact");
    assert_eq!(e.code, "INVALID_FIELD");
    assert_eq!(
        e.message,
        "\nSELECT Id, Nickname FROM Contact\n           ^\nERROR at Row:1:Column:12\nNo such \
         column 'Nickname' on entity 'Contact'. If you are attempting to use a custom field, be \
         sure to append the '__c' after the custom field name. Please reference your WSDL or the \
         describe call for the appropriate names."
    );
    let e = refused("SELECT Id FROM Contact WHERE Nickname = 'x'");
    assert_eq!(e.code, "INVALID_FIELD");
    assert!(e.message.contains("Column:30"), "{}", e.message);
    let e = refused("SELECT Id FROM Contact ORDER BY Nickname");
    assert_eq!(e.code, "INVALID_FIELD");
}

#[test]
fn duplicate_fields_are_refused() {
    for soql in [
        "SELECT Id, Id FROM Contact",
        "SELECT LastName, lastname FROM Contact",
        "SELECT Account.Name, account.NAME FROM Contact",
    ] {
        let e = refused(soql);
        assert_eq!(e.code, "INVALID_FIELD", "{soql}");
        assert!(
            e.message.starts_with("duplicate field selected: "),
            "{}",
            e.message
        );
    }
    assert_eq!(
        refused("SELECT Id, ID FROM Contact").message,
        "duplicate field selected: ID"
    );
}

#[test]
fn parents_through_relation_fields() {
    // `Account` reaches `AccountId`; `Owner__r` reaches `Owner__c`; a field's own name works too.
    let t = ok(
        "SELECT Id, Account.Name, account.rating, Owner__r.Name, AccountId.Id FROM Contact \
                WHERE Account.Name = 'acme' AND Owner__c.name LIKE 'a%'",
    );
    assert_eq!(
        t.sql,
        "SELECT \"t0\".\"id\" AS \"Id\", \"t1\".\"Name\" AS \"Account.Name\", \
         \"t1\".\"Rating\" AS \"account.rating\", \"t2\".\"Name\" AS \"Owner__r.Name\", \
         \"t1\".\"id\" AS \"AccountId.Id\" FROM \"Contact\" AS \"t0\" \
         LEFT JOIN \"Account\" AS \"t1\" ON \"t1\".\"id\" = \"t0\".\"AccountId\" \
         LEFT JOIN \"person\" AS \"t2\" ON \"t2\".\"id\" = \"t0\".\"Owner__c\" \
         WHERE (LOWER(\"t1\".\"Name\") = ?) AND (LOWER(\"t2\".\"Name\") LIKE ? ESCAPE '\\')"
    );
    assert_eq!(
        t.headers,
        [
            "Id",
            "Account.Name",
            "account.rating",
            "Owner__r.Name",
            "AccountId.Id"
        ]
    );
    // A parent read only in WHERE or ORDER BY is joined too.
    let t = ok("SELECT Id FROM Contact WHERE Account.Active = true");
    assert!(
        t.sql.contains("LEFT JOIN \"Account\" AS \"t1\""),
        "{}",
        t.sql
    );
}

#[test]
fn unknown_parents_and_deeper_paths() {
    let e = refused("SELECT Id, Boss.Name FROM Contact");
    assert_eq!(e.code, "INVALID_FIELD");
    assert_eq!(
        e.message,
        "\nSELECT Id, Boss.Name FROM Contact\n           ^\nERROR at Row:1:Column:12\nDidn't \
         understand relationship 'Boss' in field path. If you are attempting to use a custom \
         relationship, be sure to append the '__r' after the custom relationship name. Please \
         reference your WSDL or the describe call for the appropriate names."
    );
    // A field that is not a relation is no relationship either.
    assert_eq!(
        refused("SELECT LastName.Name FROM Contact").code,
        "INVALID_FIELD"
    );
    let e = refused("SELECT Account.Nickname FROM Contact");
    assert_eq!(e.code, "INVALID_FIELD");
    assert!(
        e.message
            .contains("No such column 'Nickname' on entity 'Account'"),
        "{}",
        e.message
    );
    let e = refused("SELECT Account.Owner.Name FROM Contact");
    assert_eq!(e.code, "MALFORMED_QUERY");
    assert!(e.message.contains("one level up"), "{}", e.message);
}

#[test]
fn selected_values_read_as_the_csv_writes_them() {
    let t = ok("SELECT Vip, Data, Account.Active, Account.Extra FROM Contact");
    assert_eq!(
        t.sql,
        "SELECT CASE WHEN \"t0\".\"Vip\" THEN 'true' ELSE 'false' END AS \"Vip\", \
         CAST(\"t0\".\"Data\" AS TEXT) AS \"Data\", \
         CASE WHEN \"t1\".\"id\" IS NULL THEN NULL WHEN \"t1\".\"Active\" THEN 'true' ELSE 'false' END \
         AS \"Account.Active\", CAST(\"t1\".\"Extra\" AS TEXT) AS \"Account.Extra\" \
         FROM \"Contact\" AS \"t0\" LEFT JOIN \"Account\" AS \"t1\" ON \"t1\".\"id\" = \"t0\".\"AccountId\""
    );
}

#[test]
fn placeholders_follow_each_stores_grammar() {
    let soql = "SELECT Id FROM Contact WHERE Age > 3 AND LastName IN ('a', 'b') LIMIT 10";
    let lite = translate(soql, &app(), sqlite(), now()).unwrap();
    let pg = translate(soql, &app(), postgres(), now()).unwrap();
    assert!(lite.sql.ends_with(
        "WHERE (\"t0\".\"Age\" > ?) AND (LOWER(\"t0\".\"LastName\") IN (?, ?)) LIMIT ?"
    ));
    assert!(pg.sql.ends_with(
        "WHERE (\"t0\".\"Age\" > $1) AND (LOWER(\"t0\".\"LastName\") IN ($2, $3)) LIMIT $4"
    ));
    assert_eq!(lite.params, pg.params);
}
