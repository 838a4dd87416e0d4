using static BlasLinear.Native.Interop;

namespace BlasLinear.Backends;

/// <summary>
/// The backend's lifetime against concurrent calls: every operation runs inside a <see cref="Call"/>, which
/// counts it in and leases a <see cref="CudaCallState"/> from the pool; Dispose refuses new calls, waits for
/// the counted ones to leave, synchronises the stream, and only then frees the states and the stream.
/// </summary>
public sealed partial class CudaBackend
{
    /// <summary>The device current on this thread as set by a backend, plus one (0: never set here).</summary>
    [ThreadStatic]
    private static int t_currentDevicePlusOne;

    private readonly Lock _poolLock = new();
    private readonly Stack<CudaCallState> _idle = new();
    private int _inFlight;
    private int _closing;

    /// <summary>
    /// Counts a call in. Increment first, then look at the closing flag: Dispose sets the flag first, then
    /// reads the count, so either the call sees the flag and leaves, or Dispose sees the call and waits.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The backend is being disposed or was.</exception>
    internal Call Enter()
    {
        Interlocked.Increment(ref _inFlight);
        if (Volatile.Read(ref _closing) != 0)
        {
            Interlocked.Decrement(ref _inFlight);
            ThrowDisposed();
        }

        return new Call(this, null);
    }

    /// <summary>Counts a call in and leases call state for it, with this backend's device current on the thread.</summary>
    /// <exception cref="ObjectDisposedException">The backend is being disposed or was.</exception>
    private Call EnterWithState()
    {
        Call call = Enter();
        try
        {
            return new Call(this, TakeState());
        }
        catch
        {
            call.Dispose();
            throw;
        }
    }

    private CudaCallState TakeState()
    {
        if (t_currentDevicePlusOne != Device + 1)
        {
            // The current device is per thread; a pooled handle made on another thread is used on this one.
            CudaException.ThrowIfFailed(CudaRuntime.cudaSetDevice(Device), this);
            t_currentDevicePlusOne = Device + 1;
        }

        lock (_poolLock)
        {
            if (_idle.TryPop(out CudaCallState? state))
            {
                return state;
            }
        }

        return new CudaCallState(this);
    }

    private void GiveBack(CudaCallState state)
    {
        lock (_poolLock)
        {
            _idle.Push(state);
        }
    }

    /// <summary>Refuses new calls and waits for those inside to leave; then nothing of the backend is in use.</summary>
    private void Close()
    {
        Interlocked.Exchange(ref _closing, 1);
        var wait = new SpinWait();
        while (Volatile.Read(ref _inFlight) != 0)
        {
            wait.SpinOnce(sleep1Threshold: 20);
        }
    }

    /// <summary>Frees every pooled state; called once no call is inside.</summary>
    private void FreeStates()
    {
        lock (_poolLock)
        {
            while (_idle.TryPop(out CudaCallState? state))
            {
                state.Dispose();
            }
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowDisposed() => throw new ObjectDisposedException(GetType().FullName, "The CUDA backend was disposed.");

    /// <summary>One call inside the backend; dispose it to give back its state and count it out.</summary>
    internal ref struct Call
    {
        private CudaBackend? _backend;
        private CudaCallState? _state;

        internal Call(CudaBackend backend, CudaCallState? state)
        {
            _backend = backend;
            _state = state;
        }

        /// <summary>The leased state of a call entered with one.</summary>
        public readonly CudaCallState State => _state ?? throw new InvalidOperationException("This call was entered without call state.");

        public void Dispose()
        {
            if (_backend is not CudaBackend backend)
            {
                return;
            }

            if (_state is not null)
            {
                backend.GiveBack(_state);
            }

            Interlocked.Decrement(ref backend._inFlight);
            this = default;
        }
    }
}
