//! Page views per user per minute, with one final count per window: the views (key: user,
//! value: page) are grouped by user and counted in 1-minute tumbling windows that accept views up
//! to 10 seconds late; `suppress(until_window_closes(..))` holds each window's count back until
//! stream time has passed the window's end plus the grace, then writes it once to the output
//! topic, keyed by the windowed user (Java's `TimeWindowedSerde` layout: user bytes, then the
//! window start as 8 big-endian bytes).

/// Declares the page-views topology as a struct reading `input` and writing `output` (tests that
/// share one broker each declare it over topics of their own).
#[macro_export]
macro_rules! page_views_topology {
    ($(#[$attr:meta])* $vis:vis struct $name:ident { input: $input:tt, output: $output:tt }) => {
        ::streams_runtime::topology! {
            $(#[$attr])*
            $vis struct $name {
                stream views { topic: $input, key: String, value: String }
                views
                    .group_by_key()
                    .windowed_by(tumbling(1min, grace: 10s))
                    .count(store: "views-per-minute")
                    .suppress(until_window_closes(unbounded()))
                    .to_stream()
                    .to($output);
            }
        }
    };
}

page_views_topology! {
    /// `stream → group_by_key → windowed_by(tumbling 1 min, grace 10 s) → count → suppress →
    /// to_stream → to`.
    pub struct PageViews { input: "page-views", output: "page-views-per-minute" }
}
