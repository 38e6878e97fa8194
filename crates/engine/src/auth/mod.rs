//! Authentication: token and password hashing, login throttling, self sign-up, and the service
//! that resolves credentials into a `Principal` (in `model`) and logs users in.

mod accounts;
mod secrets;
mod service;
mod throttle;

pub use accounts::{SignUp, SIGNUP_ROLE};
pub use secrets::{generate_token, hash_password, hash_token, verify_password};
pub use service::{resolve_in, Auth, Session};
pub use throttle::LoginThrottle;
