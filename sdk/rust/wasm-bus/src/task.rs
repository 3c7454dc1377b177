//! Tasks on the single-threaded engine, and small future combinators.

use crate::rt;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

struct JoinState<T> {
    value: Option<T>,
    waker: Option<Waker>,
    done: bool,
}

/// The handle of a spawned task. Await it for the task's output; dropping it
/// lets the task run on (detached); [`abort`](JoinHandle::abort) cancels it.
pub struct JoinHandle<T> {
    id: u64,
    state: Rc<RefCell<JoinState<T>>>,
}

/// Runs a future as a task of its own. It starts when the engine next runs
/// ready tasks: before the current export returns to the host, or in the
/// current `block_on`.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let state = Rc::new(RefCell::new(JoinState { value: None, waker: None, done: false }));
    let shared = state.clone();
    let id = rt::spawn_boxed(Box::pin(async move {
        let value = future.await;
        let waker = {
            let mut s = shared.borrow_mut();
            s.value = Some(value);
            s.done = true;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake()
        }
    }));
    JoinHandle { id, state }
}

impl<T> JoinHandle<T> {
    /// Cancels the task: its future is dropped, which drops the calls it made.
    pub fn abort(&self) {
        rt::cancel_task(self.id)
    }

    pub fn is_finished(&self) -> bool {
        self.state.borrow().done
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut s = self.state.borrow_mut();
        match s.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Which of two futures finished first, with the other one still pending.
pub enum Either<A, B> {
    Left(A),
    Right(B),
}

/// Polls two futures until one is ready; the other is dropped (cancelled).
pub async fn select<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    std::future::poll_fn(move |cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(v));
        }
        if let Poll::Ready(v) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Right(v));
        }
        Poll::Pending
    })
    .await
}

/// Runs two futures concurrently and waits for both.
pub async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let mut ra = None;
    let mut rb = None;
    std::future::poll_fn(move |cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Waits for every future of a list, concurrently; outputs in the list's order.
pub async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        let mut pending = false;
        for (f, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(outputs.iter_mut().map(|o| o.take().unwrap()).collect())
        }
    })
    .await
}

/// Lets other ready tasks run before continuing.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

struct Channel<T> {
    queue: std::collections::VecDeque<T>,
    waker: Option<Waker>,
    senders: usize,
}

/// The sending half of [`channel`]: cheap to clone into callbacks.
pub struct Sender<T> {
    chan: Rc<RefCell<Channel<T>>>,
}

/// The receiving half of [`channel`].
pub struct Receiver<T> {
    chan: Rc<RefCell<Channel<T>>>,
}

/// An unbounded single-threaded channel: how callback data (`impl Fn(T)`)
/// reaches async code.
///
/// ```no_run
/// # async fn f() {
/// let (tx, mut rx) = wasm_bus::task::channel::<u64>();
/// let on_change = move |v: u64| tx.send(v);
/// # on_change(1);
/// while let Some(v) = rx.recv().await { /* ... */ }
/// # }
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let chan = Rc::new(RefCell::new(Channel { queue: Default::default(), waker: None, senders: 1 }));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

impl<T> Sender<T> {
    pub fn send(&self, value: T) {
        let waker = {
            let mut c = self.chan.borrow_mut();
            c.queue.push_back(value);
            c.waker.take()
        };
        if let Some(w) = waker {
            w.wake()
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.borrow_mut().senders += 1;
        Sender { chan: self.chan.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut c = self.chan.borrow_mut();
            c.senders -= 1;
            if c.senders == 0 {
                c.waker.take()
            } else {
                None
            }
        };
        if let Some(w) = waker {
            w.wake()
        }
    }
}

impl<T> Receiver<T> {
    /// The next value; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| {
            let mut c = self.chan.borrow_mut();
            if let Some(v) = c.queue.pop_front() {
                Poll::Ready(Some(v))
            } else if c.senders == 0 {
                Poll::Ready(None)
            } else {
                c.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    /// A value if one is queued.
    pub fn try_recv(&mut self) -> Option<T> {
        self.chan.borrow_mut().queue.pop_front()
    }
}
