using PeerRelay.Commands;

ServeCommand.IsProcessEntryPoint = true;
return await PeerRelayCommand.RunAsync(args);
