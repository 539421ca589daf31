//! Reading variables while collecting every problem, so that one start names all of them at once.

/// A lookup of the environment with the problems found so far.
pub(super) struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    pub production: bool,
    pub problems: Vec<String>,
}

impl<'a> Reader<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Reader { lookup, production: false, problems: Vec::new() }
    }

    /// The variable, trimmed; blank counts as unset.
    pub fn get(&self, key: &str) -> Option<String> {
        (self.lookup)(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    pub fn problem(&mut self, problem: impl Into<String>) {
        self.problems.push(problem.into());
    }

    /// A whole number of at least `min`, `default` when unset (or invalid, which is a problem).
    pub fn number(&mut self, key: &str, default: u32, min: u32) -> u32 {
        match self.get(key) {
            None => default,
            Some(raw) => match raw.parse::<u32>() {
                Ok(value) if value >= min => value,
                _ => {
                    self.problem(format!("{key} must be a whole number of at least {min}"));
                    default
                }
            },
        }
    }

    /// `on` or `off` (`default` when unset; anything else is a problem).
    pub fn on_off(&mut self, key: &str, default: bool) -> bool {
        match self.get(key).as_deref() {
            None => default,
            Some("on") => true,
            Some("off") => false,
            Some(other) => {
                self.problem(format!("{key} must be `on` or `off`, not `{other}`"));
                default
            }
        }
    }

    /// A variable that must be set, `why` saying what for.
    pub fn required(&mut self, key: &str, why: &str) -> String {
        self.get(key).unwrap_or_else(|| {
            self.problem(format!("{key} is missing ({why})"));
            String::new()
        })
    }
}
