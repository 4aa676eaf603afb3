//! What the master's and the agent's flag sets share: a wrapper around a
//! [`FlagsBase`](crate::flags::FlagsBase) holding the daemon's table, loaded
//! from `MESOS_*` and the command line, with typed accessors per flag.

/// Declares a daemon's flag set: the struct, `Default` (= `new()`, which the
/// daemon's module defines), `Deref`/`DerefMut` to `FlagsBase`, `load_from`
/// and `base`.
macro_rules! daemon_flags {
    ($(#[$m:meta])* $name:ident, $main:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone)]
        pub struct $name {
            base: $crate::flags::FlagsBase,
        }

        impl Default for $name {
            fn default() -> Self {
                $name::new()
            }
        }

        impl std::ops::Deref for $name {
            type Target = $crate::flags::FlagsBase;
            fn deref(&self) -> &$crate::flags::FlagsBase {
                &self.base
            }
        }

        impl std::ops::DerefMut for $name {
            fn deref_mut(&mut self) -> &mut $crate::flags::FlagsBase {
                &mut self.base
            }
        }

        impl $name {
            #[doc = concat!("Loads from `MESOS_*` variables in `env` and the command line `argv`\n(program name first), as `", $main, "`.")]
            pub fn load_from<E, K, V, A, S>(&mut self, env: E, argv: A) -> $crate::error::Result<$crate::flags::Warnings>
            where
                E: IntoIterator<Item = (K, V)>,
                K: AsRef<str>,
                V: AsRef<str>,
                A: IntoIterator<Item = S>,
                S: AsRef<str>,
            {
                self.base.load(Some("MESOS_"), env, argv)
            }

            /// The underlying registry.
            pub fn base(&self) -> &$crate::flags::FlagsBase {
                &self.base
            }
        }
    };
}

/// Accessors for flags with a default: the value, always present.
macro_rules! getters {
    ($($(#[$m:meta])* $name:ident : $get:ident -> $ty:ty;)*) => {
        $($(#[$m])* pub fn $name(&self) -> $ty {
            self.base.$get(stringify!($name)).expect(concat!("flag '", stringify!($name), "' has a default"))
        })*
    };
}

/// Accessors for flags without a default: `None` until given.
macro_rules! optional_getters {
    ($($(#[$m:meta])* $name:ident : $get:ident -> $ty:ty;)*) => {
        $($(#[$m])* pub fn $name(&self) -> Option<$ty> {
            self.base.$get(stringify!($name))
        })*
    };
}
