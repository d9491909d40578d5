pub mod malformed_commands;
