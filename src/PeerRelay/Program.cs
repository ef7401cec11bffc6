using PeerRelay.Commands;

return await PeerRelayCommand.RunAsync(args);
