pub mod bench;
pub mod demo;
pub mod docs;
pub mod init;
pub mod inspect;
pub mod list;
pub mod send;
pub mod watch;
