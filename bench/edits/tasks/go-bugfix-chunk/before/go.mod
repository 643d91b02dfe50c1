module example.com/chunk

go 1.19
