//! A component's stdout and stderr, sent to the log line by line, tagged with the component.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Longest line kept before it is logged in pieces: a component cannot grow the buffer
/// without bound by never writing a newline.
const MAX_LINE_BYTES: usize = 16 << 10;

/// Which stream a [`LogStream`] stands for.
#[derive(Clone, Copy, Debug)]
pub enum Which {
    /// stdout, logged at info.
    Stdout,
    /// stderr, logged at warn.
    Stderr,
}

/// stdout or stderr of one component, as log lines.
#[derive(Clone)]
pub struct LogStream {
    component: Arc<str>,
    which: Which,
}

impl LogStream {
    /// A stream for `component`'s `which`.
    pub fn new(component: Arc<str>, which: Which) -> Self {
        LogStream { component, which }
    }
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineWriter {
            stream: self.clone(),
            line: Vec::new(),
        })
    }
}

struct LineWriter {
    stream: LogStream,
    line: Vec<u8>,
}

impl LineWriter {
    fn emit(&mut self) {
        let text = String::from_utf8_lossy(&self.line);
        let text = text.trim_end_matches('\r');
        let component = &*self.stream.component;
        match self.stream.which {
            Which::Stdout => {
                tracing::info!(target: "witmesh::component", component, stream = "stdout", "{text}")
            }
            Which::Stderr => {
                tracing::warn!(target: "witmesh::component", component, stream = "stderr", "{text}")
            }
        }
        self.line.clear();
    }
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        for &b in buf {
            if b == b'\n' {
                self.emit();
            } else {
                self.line.push(b);
                if self.line.len() >= MAX_LINE_BYTES {
                    self.emit();
                }
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if !self.line.is_empty() {
            self.emit();
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.line.is_empty() {
            self.emit();
        }
    }
}
