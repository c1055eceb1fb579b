module gputrace.test/gcpauses

go 1.19
