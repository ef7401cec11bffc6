namespace PeerRelay.Transport.Internal.Epoll;

/// <summary>Something registered with an <see cref="EpollLoop"/>: told, on the loop's thread, which events its descriptor has.</summary>
internal interface IEpollHandler
{
    /// <summary>Handles <paramref name="events"/> (<c>EPOLLIN</c>, ...) of the descriptor, on <paramref name="loop"/>'s thread.</summary>
    void OnEvents(EpollLoop loop, uint events);
}
