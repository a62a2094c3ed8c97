//! The pure heart of regcred: image references, registry addresses, credential scopes,
//! names, and the rule that picks which credential a pull would use.
//!
//! Nothing in this crate touches the file system, the network, a keyring or the terminal.
//!
//! ```
//! use regcred_core::{Reference, Scope, Candidate, select};
//!
//! let image = Reference::parse("nginx").unwrap();
//! assert_eq!(image.canonical(), "docker.io/library/nginx:latest");
//!
//! let hub = Scope::parse("dockerhub").unwrap();
//! let older = Candidate { id: 1, scope: &hub, sequence: 1, active: true };
//! let newer = Candidate { id: 2, scope: &hub, sequence: 2, active: true };
//! let selection = select(&[older, newer], &image);
//! assert_eq!(selection.chosen, Some(2));
//! ```
//!
//! # The pieces
//!
//! - [`Reference`]: an image reference parsed and normalized exactly as `docker pull` does
//!   (`nginx` is `docker.io/library/nginx:latest`).
//! - [`RegistryAddress`]: `host[:port]` in canonical form, from what a person types
//!   ([`RegistryAddress::parse`], with aliases such as `dockerhub` and `quay`) or from what
//!   docker sends a credential helper ([`RegistryAddress::from_server_url`]).
//! - [`Scope`]: an address plus an optional repository-path prefix (`ghcr.io/acme`), which
//!   matches a reference only at `/` boundaries.
//! - [`select`], [`select_chosen`] and [`statuses`]: the most specific matching scope wins,
//!   and among equally specific ones the most recently added active credential.
//! - [`validate_name`] and [`validate_credential_name`]: environment and credential names
//!   (lower-case DNS labels; a credential name is never all digits, which reads as an id).
//! - [`check_text`] and [`escape`]: characters that may not be stored in names, usernames
//!   and e-mails (control, bidi, zero-width), and printing outside text safely.
//!
//! Every error is a typed enum whose message names the offending input and says what is
//! wrong with it, often with the corrected form:
//!
//! ```
//! use regcred_core::{Reference, RegistryAddress};
//!
//! let err = RegistryAddress::parse("https://registry.example.com:5000").unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     r#"registry address must not include a scheme: "https://registry.example.com:5000"; did you mean "registry.example.com:5000"?"#
//! );
//!
//! let err = Reference::parse("docker/Docker").unwrap_err();
//! assert_eq!(err.to_string(), r#"repository name must be lowercase: "docker/Docker""#);
//! ```
//!
//! # Scopes and the selection rule
//!
//! ```
//! use regcred_core::{Candidate, Reference, Scope, Status, Verdict, select, statuses};
//!
//! let ghcr = Scope::parse("ghcr.io").unwrap();
//! let acme = Scope::parse("ghcr.io/acme").unwrap();
//! let candidates = [
//!     Candidate { id: 1, scope: &ghcr, sequence: 1, active: true },
//!     Candidate { id: 2, scope: &acme, sequence: 2, active: true },
//!     Candidate { id: 3, scope: &acme, sequence: 3, active: false },
//! ];
//!
//! // The org scope is more specific than the whole registry.
//! let app = Reference::parse("ghcr.io/acme/app:1.0").unwrap();
//! let selection = select(&candidates, &app);
//! assert_eq!(selection.chosen, Some(2));
//! assert_eq!(
//!     selection.verdicts,
//!     [(1, Verdict::LessSpecific { than: 2 }), (2, Verdict::Chosen), (3, Verdict::Inactive)]
//! );
//!
//! // `ghcr.io/acme` does not cover `ghcr.io/acmeco/…`: only the registry-wide one applies.
//! let other = Reference::parse("ghcr.io/acmeco/app").unwrap();
//! assert_eq!(select(&candidates, &other).chosen, Some(1));
//!
//! assert_eq!(statuses(&candidates), [Status::Active, Status::Active, Status::Inactive]);
//! ```

#![warn(missing_docs)]

mod address;
mod name;
mod reference;
mod scope;
mod select;
mod text;

pub use address::{AddressError, DOCKER_HUB, DOCKER_HUB_CONFIG_KEY, HostError, RegistryAddress};
pub use name::{NameError, validate_credential_name, validate_name};
pub use reference::{PathError, Reference, ReferenceError};
pub use scope::{Scope, ScopeError};
pub use select::{Candidate, Selection, Status, Verdict, select, select_chosen, statuses};
pub use text::{TextError, check_text, escape, unsafe_kind};
