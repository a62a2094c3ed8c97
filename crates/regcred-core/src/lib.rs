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

mod address;
mod name;
mod reference;
mod scope;
mod select;

pub use address::{AddressError, DOCKER_HUB, DOCKER_HUB_CONFIG_KEY, RegistryAddress};
pub use name::{NameError, validate_name};
pub use reference::{Reference, ReferenceError};
pub use scope::{Scope, ScopeError};
pub use select::{Candidate, Selection, Status, Verdict, select, select_chosen, statuses};
